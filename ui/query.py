"""Which URL query values came from outside this session: a link, the address bar, a page that wrote to
st.query_params directly. Streamlit only (no torch), so app.py can use it before anything heavy is imported.

A page writes each view-defining value to the URL (pages.common.set_query) and remembers what it wrote. On a
later run a value that differs from the remembered one was put there by someone else, and it wins over the
widget state this session kept, so a link opens what it names even in a session that had picked something else.
"""

from __future__ import annotations

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
