"""On the Hidden-unit features page the sidebar's Model picker is the left model: each follows the other, and the
sidebar says so (or says why its model cannot be shown there), so the picker is never silently ignored."""

from __future__ import annotations

import streamlit as st

from ui.messages import escape_md
from ui.query import from_link
from ui.session_models import get_choice, title_of
from ui.sidebar import distinct_default

LEFT_HELP = ("Follows the sidebar's Model picker when that holds a single-layer model, and picking here sets the "
             "sidebar too.")
SIDEBAR_SEEN = "features_sidebar_seen"  # session_state: the sidebar model this page last followed


def follow_sidebar(names: list[str], right_default: str) -> None:
    """A single-layer model newly shown in the sidebar becomes the left model, unless a link names the left one."""
    shown = st.session_state.get("sidebar_model")
    if shown == st.session_state.get(SIDEBAR_SEEN):
        return
    st.session_state[SIDEBAR_SEEN] = shown
    linked = st.query_params.get("left")
    if shown not in names or from_link("left") is not None or linked not in (None, st.session_state.get("left")):
        return  # a link's left model wins (on a new page the URL holds only what the link set)
    st.session_state["left"] = shown
    if st.session_state.get("right") == shown:
        st.session_state["right"] = distinct_default(names, right_default, avoid=shown)


def left_to_sidebar() -> None:
    """The left picker changed: the sidebar shows that model on the next run (ui.sidebar keeps a model in
    session state when it belongs to the dataset picked there)."""
    name = st.session_state["left"]
    st.session_state.update(sidebar_model=name, sidebar_dataset=get_choice(name).dataset)
    st.session_state[SIDEBAR_SEEN] = name


def sidebar_note(names: list[str], left: str) -> None:
    """Say in the sidebar what its Model picker does on this page, so it is never silently ignored."""
    shown = st.session_state.get("sidebar_model")
    if shown is None:
        return
    if shown in names:
        note = "On this page the Model picker sets the **left** model."
    else:
        note = (f"**{escape_md(title_of(shown))}** has no single hidden layer to picture, so the left side shows "
                f"**{escape_md(title_of(left))}**. Pick a single-layer model above to set the left side.")
    st.sidebar.caption(note)
