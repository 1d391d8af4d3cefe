"""What every page shares: cached models and data, the sidebar's model picker, and URL query parameters.

Cached models are shared by every session and read-only: nothing here or in a page may train or modify
them (the Train page works on a copy). Pages get a ModelChoice and call the model's own methods.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import streamlit as st
import torch

from models.autoencoders import Autoencoder
from models.catalog import CatalogEntry, load_catalog
from models.checkpoint import load_checkpoint
from models.data import Dataset, load_dataset
from models.sanity import behaviour_problem
from ui.projector import toggle as projector_toggle
from ui.legacy_pages import ensure_routed
from ui.query import from_link, remember

LOG = logging.getLogger("autoencoder_explorer")
DATASET_TITLES = {"mnist": "MNIST digits", "olivetti": "Faces (Olivetti 64×64)", "user": "Your images (upload)"}
DEFAULT_MODEL = "mnist_vae2"
# The model each page opens on (the first of its dataset that is shipped) unless the URL or the user names one:
# the one that shows the page's point best.
PAGE_MODELS = {
    "reconstructions": ("mnist_cae16", "olivetti_cae32"),  # a conv AE: sharp, the point of the page
    "denoising": ("mnist_dcae16", "olivetti_dcae32"),  # the page compares its own two pickers; this sets the data
    "latent": ("mnist_vae2", "olivetti_cvae2"),  # a 2-D VAE: a plane to walk, and samples from the prior
}
SIDEBAR_TITLE_CHARS = 38  # about what the sidebar's model picker shows before it cuts a title short
PICKED_KEY = "sidebar_picked"  # session_state: {"model": …} or {"dataset": …} the user chose in the sidebar
SHOWN_KEY = "sidebar_shown"  # session_state: (page, model) of the last run, to see a page or model change
MODEL_CHANGED_KEY = "sidebar_changed"  # session_state: this run shows another page or model than the last
NOTICE_KEY = "sidebar_notice"  # session_state: (page, model, text) of a link's model this app does not have
TRAINED_KEY = "trained_models"  # session_state: what this user trained, name -> ModelChoice
INBOX_KEY = "train_inbox"  # session_state: models of runs that ended in the training pool (train_runs.Inbox)


@dataclass(frozen=True)
class ModelChoice:
    name: str
    title: str
    dataset: str
    model: Autoencoder
    record: dict
    data: Dataset
    purpose: str = ""
    trained_here: bool = False

    @property
    def label_names(self):
        return self.data.label_names

    @property
    def cache_key(self) -> str:
        """Key for arrays cached from this model: names of session-trained models can repeat across
        sessions, and the object id tells two such models apart."""
        return f"{self.name}@{id(self.model)}"


# --- user text and errors, as the pages show them ----------------------------------------------------------
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def escape_md(text) -> str:
    """User text (file, folder and checkpoint names, titles made from them, error messages quoting them) as
    Markdown shows it literally: every character Markdown or Streamlit's directives (**, [link](…), :red[…],
    $…$) act on is backslash-escaped, and line breaks become spaces. Streamlit expands :material/…: icons
    even between escaped colons, so a zero-width space also follows each colon."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", str(text)))
    return escaped.replace(":", ":\u200b")


def show_error(exc: Exception) -> None:
    """A model-layer error (an AutoencoderError: it names the problem) as the user reads it."""
    st.error(escape_md(exc), icon=":material/error:")


def report_unexpected(exc: Exception, doing: str) -> None:
    """An error no check foresaw: a short message for the user, the traceback in the server's log (never a
    traceback or a server path in the browser)."""
    LOG.error("unexpected error while %s", doing, exc_info=exc)
    st.error(f"Something unexpected went wrong while {doing} ({type(exc).__name__}). Nothing was added or "
             f"changed; the details are in the server's log.", icon=":material/error:")


# --- cached resources (shared by all sessions, never mutated) ----------------------------------------------
@st.cache_resource(show_spinner=False)
def catalog() -> dict[str, CatalogEntry]:
    return {entry.name: entry for entry in load_catalog()}


@st.cache_resource(show_spinner="Loading model…")
def _pretrained(name: str) -> tuple[Autoencoder, dict]:
    model, record = load_checkpoint(catalog()[name].path)
    for parameter in model.parameters():
        parameter.requires_grad_(False)  # shared and read-only: also skips autograd bookkeeping
    return model, record


@st.cache_resource(show_spinner="Loading data…")
def load_data(dataset: str, source: str) -> Dataset:
    """Held-out data for a dataset as the shipped models saw it.

    cache_resource, not cache_data: the tensors are large, read-only and shared; cache_data would copy
    several MB on every rerun.
    """
    if dataset == "olivetti":
        # The Olivetti file may be absent on a user's machine: auto falls back to the bundled LFW faces.
        return load_dataset("olivetti", source="auto", image_size=(64, 64))
    return load_dataset(dataset, source=source)


def trained_models() -> dict[str, ModelChoice]:
    return st.session_state.setdefault(TRAINED_KEY, {})


def get_choice(name: str) -> ModelChoice:
    if name in trained_models():
        return trained_models()[name]
    entry = catalog()[name]
    model, record = _pretrained(name)
    return ModelChoice(name=name, title=entry.title, dataset=entry.dataset, model=model, record=record,
                       data=load_data(entry.dataset, entry.data_source), purpose=entry.purpose)


def model_names(dataset: str | None = None, where=None) -> list[str]:
    """Pretrained then session-trained model names, optionally for one dataset and passing `where(config)`."""
    names = []
    for name, entry in catalog().items():
        if dataset in (None, entry.dataset):
            names.append(name)
    for name, choice in trained_models().items():
        if dataset in (None, choice.dataset):
            names.append(name)
    if where is not None:
        names = [n for n in names if where(config_of(n))]
    return names


def config_of(name: str):
    if name in trained_models():
        return trained_models()[name].model.config
    return _pretrained(name)[0].config


def title_of(name: str) -> str:
    if name in trained_models():
        choice = trained_models()[name]
        return f"{choice.title} ({'trained here' if choice.trained_here else 'uploaded'})"
    return catalog()[name].title


# --- URL query parameters: a shared link reproduces the view; bad values fall back to defaults -------------
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


def state_from_query(key: str, value) -> None:
    """Seed a widget's session state from the URL once, before the widget is drawn."""
    if key not in st.session_state:
        st.session_state[key] = value


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
    st.session_state[PICKED_KEY] = {"model": st.session_state["sidebar_model"]}


def _picked_dataset() -> None:
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
              help: str | None = None) -> str:
    """A page-level model picker (for side-by-side comparisons), kept in the URL under `key`; its default is
    never `avoid` (the other side's model) when another model is available. Returns the name only, so a page
    can clear what the old model drew before it loads the new one."""
    default = distinct_default(names, default, avoid)
    linked = from_link(key)
    if linked is not None and linked in names:
        st.session_state[key] = linked
    state_from_query(key, query_choice(key, names, default))
    if st.session_state[key] not in names:  # e.g. the sidebar switched dataset: back to this page's default
        st.session_state[key] = default
    name = st.selectbox(label, names, key=key, format_func=title_of, help=help)
    if linked is not None and linked not in names:
        linked_notice(label.lower(), linked, title_of(name))
    set_query(**{key: name})
    return name


def pick_model(label: str, names: list[str], default: str, key: str, avoid: str | None = None,
               help: str | None = None) -> ModelChoice:
    """pick_name, and the model it names."""
    return fit_to_show(get_choice(pick_name(label, names, default, key, avoid, help)))


def held_out_codes(choice: ModelChoice) -> torch.Tensor:
    """Codes of the held-out images (N, latent), computed once per model."""
    return _codes(choice.cache_key, choice.model, choice.data)


@st.cache_data(show_spinner="Encoding the held-out images…", max_entries=64)  # trained models would pile up
def _codes(key: str, _model: Autoencoder, _data: Dataset) -> torch.Tensor:
    return _model.embed(_data.test)


def current() -> ModelChoice:
    """The model picked in the sidebar (app.py draws the sidebar before running the page)."""
    ensure_routed()
    return fit_to_show(st.session_state["model_choice"])


def fit_to_show(choice: ModelChoice) -> ModelChoice:
    """The choice, or a message and a stopped page when a session model's codes or outputs are not finite
    and sane (models.sanity): the Train page refuses such models, and this keeps any that got in from
    crashing a page in its own way. Shipped models are checked by their tests."""
    if choice.name in trained_models():
        problem = _behaviour_problem(choice.cache_key, choice.model, choice.data)
        if problem:
            st.error(f"**{escape_md(choice.title)}** cannot be shown: {problem}. Pick another model in the sidebar.",
                     icon=":material/error:")
            st.stop()
    return choice


@st.cache_data(show_spinner=False, max_entries=64)
def _behaviour_problem(key: str, _model: Autoencoder, _data: Dataset) -> str | None:
    return behaviour_problem(_model, _data.test)
