"""Which URL query values came from outside this session: a link, the address bar, a page that wrote to
st.query_params directly. Streamlit only (no torch), so app.py can use it before anything heavy is imported.

A page writes each view-defining value to the URL (ui.query.set_query) and remembers what it wrote. On a
later run a value that differs from the remembered one was put there by someone else, and it wins over the
widget state this session kept, so a link opens what it names even in a session that had picked something else.
"""

from __future__ import annotations

import math

import streamlit as st

WRITTEN_KEY = "url_written"  # session_state: query key -> the text this session last wrote (None: removed it)


def remember(key: str, text: str | None) -> None:
    """Record that this session's URL holds `text` under `key` (None: this session removed it)."""
    st.session_state.setdefault(WRITTEN_KEY, {})[key] = text


def from_link(key: str) -> str | None:
    """The URL's value under `key` when it differs from what this session last wrote there, else None.

    A missing value says nothing (Streamlit clears the query on a page change), so it never returns 'absent'."""
    value = st.query_params.get(key)
    if value is None:
        return None
    written = st.session_state.get(WRITTEN_KEY, {})
    return value if key not in written or written[key] != value else None


# --- view-defining values in the URL: a shared link reproduces the view; bad values fall back to defaults ----
def query_choice(key: str, options: list[str], default: str) -> str:
    value = st.query_params.get(key)
    return value if value in options else default


def query_float(key: str, default: float, low: float, high: float) -> float:
    try:
        value = float(st.query_params.get(key, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high) if math.isfinite(value) else default


def query_int(key: str, default: int, low: int, high: int) -> int:
    value = query_float(key, float(default), low, high)
    return int(round(value))


def set_query(**values) -> None:
    """Write view-defining values to the URL, touching only those that changed, and remember them (so a value
    that differs on a later run came from a link: ui.query)."""
    for key, value in values.items():
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text
        remember(key, text)


def drop_query(key: str) -> None:
    """Take a value out of the URL (its default needs no place there), and remember that this session did."""
    if key in st.query_params:
        del st.query_params[key]
    remember(key, None)


def state_from_query(key: str, value) -> None:
    """Seed a widget's session state from the URL once, before the widget is drawn."""
    if key not in st.session_state:
        st.session_state[key] = value

