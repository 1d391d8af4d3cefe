"""The sidebar: the dataset and model pickers (in the URL as ?model=…), which model a page opens on, a link's
notice when it names a model this app does not have, and the pages' own side-by-side model pickers."""

from __future__ import annotations

import math

import streamlit as st

from ui.messages import escape_md
from ui.projector import toggle as projector_toggle
from ui.query import from_link, query_choice, set_query, state_from_query
from ui.session_models import (DATASET_TITLES, INBOX_KEY, ModelChoice, catalog, fit_to_show, get_choice, model_names,
                               title_of, trained_models)

DEFAULT_MODEL = "mnist_vae2"
# The model each page opens on (the first of its dataset that is shipped) unless the URL or the user names one:
# the one that shows the page's point best.
PAGE_MODELS = {
    "reconstructions": ("mnist_cae16", "olivetti_cae32"),  # a conv AE: sharp, the point of the page
    "denoising": ("mnist_dcae16", "olivetti_dcae32"),  # the page compares its own two pickers; this sets the data
    "latent": ("mnist_vae2", "olivetti_cvae2"),  # a 2-D VAE: a plane to walk, and samples from the prior
    "features": ("mnist_tied100",),  # the sidebar's model is the page's left model (pages/features.py)
}
SIDEBAR_TITLE_CHARS = 38  # about what the sidebar's model picker shows before it cuts a title short
PICKED_KEY = "sidebar_picked"  # session_state: {"model": …} or {"dataset": …} the user chose in the sidebar
SHOWN_KEY = "sidebar_shown"  # session_state: (page, model) of the last run, to see a page or model change
MODEL_CHANGED_KEY = "sidebar_changed"  # session_state: this run shows another page or model than the last
NOTICE_KEY = "sidebar_notice"  # session_state: (page, model, text) of a link's model this app does not have



# --- the sidebar ------------------------------------------------------------------------------------------
def page_default(page: str, dataset: str | None = None) -> str:
    """The model `page` opens on: its preferred model of `dataset` (any dataset when None) that is available."""
    names = model_names(dataset)
    for name in (*PAGE_MODELS.get(page, ()), DEFAULT_MODEL):
        if name in names:
            return name
    return names[0] if names else model_names()[0]


def _wanted_model(page: str, names: list[str]) -> tuple[str, str | None]:
    """The model this run shows, and a notice when a link named a model this app does not have.

    A link's ?model= wins (ui.query.from_link: it differs from what this session wrote). Otherwise the
    model stays as it is on the same page; on a new page, the user's own pick stands, else the page's default."""
    same_page = st.session_state.get(SHOWN_KEY, (None, None))[0] == page
    # On a new page the URL holds only what the link to it set (Streamlit clears the rest), so a model there
    # is the link's even when this session wrote the same name before.
    linked = from_link("model") if same_page else st.query_params.get("model")
    picked = st.session_state.get(PICKED_KEY, {})
    notice = None
    if linked is not None and linked in names:
        if linked in trained_models():  # the user's own model (Train selects it through the URL)
            st.session_state[PICKED_KEY] = {"model": linked}
        return linked, None
    if linked is not None:
        notice = linked
    current, dataset = st.session_state.get("sidebar_model"), st.session_state.get("sidebar_dataset")
    if same_page and notice is None and current in names and _dataset_of(current) == dataset:
        return current, None
    if same_page and notice is None and dataset is not None and model_names(dataset):  # the user switched data
        return page_default(page, dataset), None
    if picked.get("model") in names:
        return picked["model"], notice
    return page_default(page, picked.get("dataset")), notice


def _picked_model() -> None:
    # .get: the Train page drops the pickers' state to select a newly trained model (pages/train.py
    # select_in_sidebar); a widget event from the browser that crosses that rerun finds no value: nothing picked.
    if st.session_state.get("sidebar_model") is not None:
        st.session_state[PICKED_KEY] = {"model": st.session_state["sidebar_model"]}


def _picked_dataset() -> None:
    if st.session_state.get("sidebar_dataset") is not None:
        st.session_state[PICKED_KEY] = {"dataset": st.session_state["sidebar_dataset"]}


def sidebar(page: str = "", top=None) -> ModelChoice:
    """Dataset and model pickers (in the URL as ?model=…), where the data came from, and the projector switch.

    `top` (a container above the page) gets a link's notice and the loading spinner. Sets MODEL_CHANGED_KEY when
    the page or its model differs from the last run's, so app.py clears the old page before drawing the new one
    (the old model's numbers never show beside the new model's name)."""
    inbox = st.session_state.get(INBOX_KEY)
    if inbox is not None:  # a run trains in the server's pool and may end while its student is on another page
        inbox.deliver(trained_models())
    names = model_names()
    name, unknown = _wanted_model(page, names)
    st.session_state["sidebar_dataset"] = _dataset_of(name)
    st.session_state["sidebar_model"] = name
    datasets = list(dict.fromkeys(_dataset_of(n) for n in names))
    with st.sidebar:
        dataset = st.selectbox("Dataset", datasets, key="sidebar_dataset", on_change=_picked_dataset,
                               format_func=lambda d: DATASET_TITLES.get(d, d))
        name = st.selectbox("Model", model_names(dataset), key="sidebar_model", on_change=_picked_model,
                            format_func=title_of)
    if unknown is not None:
        st.session_state[NOTICE_KEY] = (page, name, unknown)
    st.session_state[MODEL_CHANGED_KEY] = st.session_state.get(SHOWN_KEY, (page, name)) != (page, name)
    st.session_state[SHOWN_KEY] = (page, name)
    with top if top is not None else st.container():
        notice = st.session_state.get(NOTICE_KEY)
        if notice is not None and notice[:2] == (page, name):
            st.warning(f"This link names a model this app does not have: **{escape_md(notice[2])}**. A model "
                       f"trained or uploaded on the Train page lives only in the browser tab that made it. Showing "
                       f"**{escape_md(title_of(name))}** instead.", icon=":material/link_off:")
        choice = get_choice(name)  # a spinner here while a model or its data loads
    with st.sidebar:
        if len(title_of(name)) > SIDEBAR_TITLE_CHARS:  # the picker cuts it short: the whole name, once
            st.caption(f"Model: {escape_md(title_of(name))}")
        st.caption(f"Data: {escape_md(choice.data.source)}")
        loss, epochs = choice.record.get("final_heldout_loss"), choice.record.get("epochs")
        if isinstance(loss, float) and math.isfinite(loss):
            trained = f"Trained {epochs} epoch{'' if epochs == 1 else 's'} · " if isinstance(epochs, int) else ""
            best = choice.record.get("best_epoch")
            if isinstance(best, int) and isinstance(epochs, int) and 0 < best < epochs:
                trained = f"Trained {epochs} epochs, kept epoch {best} · "
            st.caption(f"{trained}held-out loss {loss:.2f} per image")
        projector_toggle()
    set_query(model=name)
    return choice


def _dataset_of(name: str) -> str:
    return catalog()[name].dataset if name in catalog() else trained_models()[name].dataset


def linked_notice(what: str, value: str, shown: str) -> None:
    """A link named something this app does not have: say so, and what is shown instead."""
    st.warning(f"This link's {what} is not available here: **{escape_md(value)}**. Showing "
               f"**{escape_md(shown)}** instead.", icon=":material/link_off:")


def distinct_default(names: list[str], preferred: str, avoid: str | None = None) -> str:
    """`preferred` when available and not `avoid`, else the first other name (a comparison never defaults to
    one model twice when there are two to show)."""
    if preferred in names and preferred != avoid:
        return preferred
    return next((n for n in names if n != avoid), names[0])


def pick_name(label: str, names: list[str], default: str, key: str, avoid: str | None = None,
              help: str | None = None, on_change=None) -> str:
    """A page-level model picker (for side-by-side comparisons), kept in the URL under `key`; its default is
    never `avoid` (the other side's model) when another model is available. Returns the name only, so a page
    can clear what the old model drew before it loads the new one. on_change: the selectbox's callback."""
    default = distinct_default(names, default, avoid)
    linked = from_link(key)
    if linked is not None and linked in names:
        st.session_state[key] = linked
    state_from_query(key, query_choice(key, names, default))
    if st.session_state[key] not in names:  # e.g. the sidebar switched dataset: back to this page's default
        st.session_state[key] = default
    name = st.selectbox(label, names, key=key, format_func=title_of, help=help, on_change=on_change)
    if linked is not None and linked not in names:
        linked_notice(label.lower(), linked, title_of(name))
    set_query(**{key: name})
    return name


def pick_model(label: str, names: list[str], default: str, key: str, avoid: str | None = None,
               help: str | None = None) -> ModelChoice:
    """pick_name, and the model it names."""
    return fit_to_show(get_choice(pick_name(label, names, default, key, avoid, help)))

