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
from pages.routing import ensure_routed

LOG = logging.getLogger("autoencoder_explorer")
DATASET_TITLES = {"mnist": "MNIST digits", "olivetti": "Faces (Olivetti 64×64)", "user": "Your images (upload)"}
DEFAULT_MODEL = "mnist_vae2"
TRAINED_KEY = "trained_models"  # session_state: what this user trained, name -> ModelChoice


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
    """Write view-defining values to the URL, touching only those that changed."""
    for key, value in values.items():
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def state_from_query(key: str, value) -> None:
    """Seed a widget's session state from the URL once, before the widget is drawn."""
    if key not in st.session_state:
        st.session_state[key] = value


# --- the sidebar ------------------------------------------------------------------------------------------
def sidebar() -> ModelChoice:
    """Dataset and model pickers (in the URL as ?dataset=…&model=…) and where the data came from."""
    names = model_names()
    wanted = query_choice("model", names, DEFAULT_MODEL if DEFAULT_MODEL in names else names[0])
    datasets = list(dict.fromkeys(catalog()[n].dataset if n in catalog() else trained_models()[n].dataset
                                  for n in names))
    state_from_query("sidebar_dataset", _dataset_of(wanted))
    with st.sidebar:
        dataset = st.selectbox("Dataset", datasets, key="sidebar_dataset",
                               format_func=lambda d: DATASET_TITLES.get(d, d))
        options = model_names(dataset)
        if st.session_state.get("sidebar_model") not in options:
            st.session_state["sidebar_model"] = wanted if wanted in options else options[0]
        name = st.selectbox("Model", options, key="sidebar_model", format_func=title_of)
        choice = get_choice(name)
        st.caption(f"Data: {escape_md(choice.data.source)}")
        loss, epochs = choice.record.get("final_heldout_loss"), choice.record.get("epochs")
        if isinstance(loss, float) and math.isfinite(loss):
            trained = f"Trained {epochs} epoch{'' if epochs == 1 else 's'} · " if isinstance(epochs, int) else ""
            st.caption(f"{trained}held-out loss {loss:.2f} per image")
    set_query(model=name)
    return choice


def _dataset_of(name: str) -> str:
    return catalog()[name].dataset if name in catalog() else trained_models()[name].dataset


def pick_model(label: str, names: list[str], default: str, key: str) -> ModelChoice:
    """A page-level model picker (for side-by-side comparisons), kept in the URL under `key`."""
    state_from_query(key, query_choice(key, names, default if default in names else names[0]))
    if st.session_state[key] not in names:  # e.g. the sidebar switched dataset: back to this page's default
        st.session_state[key] = default if default in names else names[0]
    name = st.selectbox(label, names, key=key, format_func=title_of)
    set_query(**{key: name})
    return fit_to_show(get_choice(name))


def held_out_codes(choice: ModelChoice) -> torch.Tensor:
    """Codes of the held-out images (N, latent), computed once per model."""
    return _codes(choice.cache_key, choice.model, choice.data)


@st.cache_data(show_spinner=False, max_entries=64)  # session-trained models would otherwise pile up
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
