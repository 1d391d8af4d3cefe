"""A table that a phone can read: the table on a wide screen; on a phone (under 640 px, ui/projector.py's
PHONE_CSS) one line per row, each figure named by its column, since eight or ten columns cannot wrap into 360 px
without breaking numbers apart."""

from __future__ import annotations

import numbers

import pandas as pd
import streamlit as st

from ui.messages import escape_md


def row_lines(frame: pd.DataFrame) -> list[str]:
    """One Markdown line per row: its index in bold (a number with its name: "units 50"; a name alone), then each
    column's name and value."""
    names = [name for name in frame.index.names]
    lines = []
    for index, row in frame.iterrows():
        keys = index if isinstance(index, tuple) else (index,)
        head = " · ".join(_index_part(name, key) for name, key in zip(names, keys))
        cells = "; ".join(f"{escape_md(column)} **{escape_md(value)}**" for column, value in row.items())
        lines.append(f"- **{head}**: {cells}" if head else f"- {cells}")
    return lines


def _index_part(name, key) -> str:
    text = escape_md(key)
    return f"{escape_md(name)} {text}" if name is not None and isinstance(key, numbers.Number) else text


def phone_table(frame: pd.DataFrame, key: str) -> None:
    """st.table on a wide screen, the rows as lines on a phone: both are sent, and the page's CSS shows one."""
    with st.container(key=f"wide_table_{key}"):
        st.table(frame)
    with st.container(key=f"table_rows_{key}"):
        st.markdown("\n".join(row_lines(frame)))
