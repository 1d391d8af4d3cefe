"""The models and data every page shows: the shipped catalog and this session's own models (trained or uploaded),
loaded once per server and shared read-only, and the ModelChoice a page gets.

Cached models are shared by every session and read-only: nothing here or in a page may train or modify
them (the Train page works on a copy). Pages get a ModelChoice and call the model's own methods.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

from models.autoencoders import Autoencoder
from models.catalog import CatalogEntry, load_catalog
from models.checkpoint import load_checkpoint
from models.data import Dataset, load_dataset
from models.training.checks import behaviour_problem
from ui.legacy_pages import ensure_routed
from ui.messages import escape_md

DATASET_TITLES = {"mnist": "MNIST digits", "olivetti": "Faces (Olivetti 64×64)", "user": "Your images (upload)"}
TRAINED_KEY = "trained_models"  # session_state: what this user trained, name -> ModelChoice
INBOX_KEY = "train_inbox"  # session_state: models of runs that ended in the training pool (an Inbox)


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
    and sane (models.training.checks): the Train page refuses such models, and this keeps any that got in from
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
