"""The one workaround for a library in this app: Streamlit's legacy pages/-folder mode.

Why: the design fixes a top-level `pages/` folder, and Streamlit runs an app with such a folder in its legacy
multipage mode until st.navigation is first called (PagesManager.uses_pages_directory, set when the first
session starts). In that mode a fresh server's first deep link (/latent?model=…) runs pages/latent.py on its own,
skipping app.py: no navigation, no sidebar, no model. Every page calls ensure_routed() first, which clears the
flag exactly as st.navigation itself does and reruns, so that request goes through app.py.

tests/unit/test_legacy_pages.py fails when Streamlit changes what this relies on (the flag, or st.navigation
clearing it), and tests/app/test_app_routing.py checks every page's deep link in legacy mode.

Imports Streamlit only (no torch, no models), so the Home page can check it and be drawn before anything heavy is
imported."""

from __future__ import annotations

import streamlit as st

ROUTED_KEY = "routed_through_app"  # session_state: app.py ran st.navigation in this session


def mark_routed() -> None:
    """app.py calls this after st.navigation, before it draws the page or the sidebar."""
    st.session_state[ROUTED_KEY] = True


def ensure_routed() -> None:
    """Call first on every page: makes sure app.py (navigation, sidebar) runs this request."""
    if ROUTED_KEY not in st.session_state:
        _route_through_app()


def _route_through_app() -> None:
    """A fresh server with a pages/ folder runs its first deep link (/latent?...) in Streamlit's legacy
    pages-folder mode, which skips app.py. st.navigation turns that mode off for good by clearing this
    flag; clearing it here and rerunning sends this very request through app.py instead."""
    from streamlit.runtime.pages_manager import PagesManager  # noqa: PLC0415

    PagesManager.uses_pages_directory = False
    st.rerun()
