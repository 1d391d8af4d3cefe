"""The Train page's opening: its short answer (a shipped model's loss curve and the sentence with its numbers), and
the pieces it shares with the rest of the page (the held-out data, the curve, the defaults' expected time)."""

from __future__ import annotations

import streamlit as st

from models.jobs import QueueUnavailable
from models.training.job import SECONDS_PER_UNIT, training_work
from ui.messages import escape_md
from ui.pictures import loss_curve
from ui.session_models import catalog, config_of, load_data
from ui.train.form import TrainForm, build_configs, loss_label
from ui.train.live import seconds_text
from ui.train.runs import training_pool

REFERENCE = "mnist_ae2"  # the shipped model whose training the page opens with: a dense AE like the defaults


def app_data(dataset: str):
    """The held-out data the sidebar's models of this dataset use (shared, cached)."""
    return load_data(dataset, "bundled" if dataset == "mnist" else "auto")


def epoch_curve(history: list[dict], title: str):
    """pictures.loss_curve with whole-number epoch ticks (plotly would label 1, 1.2, 1.4, … for two epochs)."""
    return loss_curve(history, title=title).update_xaxes(tick0=1, dtick=-(-len(history) // 10))


def default_run_seconds() -> float:
    """How long the form's defaults should train on this server: the pool's rate, learnt from the runs that
    finished here (before the first, the rate measured when the estimate was set up)."""
    model_config, train_config = build_configs(TrainForm())
    work = training_work(model_config, train_config, len(app_data("mnist").train))
    try:
        return training_pool().expected_seconds(work)
    except QueueUnavailable:  # the page says why elsewhere; the estimate falls back to the measured rate
        return work * SECONDS_PER_UNIT


def short_answer() -> None:
    """One sentence and one picture: how a shipped model's held-out loss fell while it trained (from its record)."""
    entry = catalog().get(REFERENCE)
    record = entry.record if entry is not None else {}
    history, start = record.get("history"), record.get("initial_heldout_loss")
    if not history or not isinstance(start, float):
        st.markdown("Train an autoencoder on this server and watch its held-out loss fall, epoch by epoch.")
        return
    kept = next((h for h in history if h["epoch"] == record.get("best_epoch")), history[-1])
    st.markdown(f"Train an autoencoder here and watch its loss fall: the shipped **{escape_md(entry.title)}** went "
                f"from a held-out loss of **{start:.0f}** untrained to **{kept['heldout_loss']:.1f}** (epoch "
                f"{kept['epoch']} of {len(history)}); the form's defaults train in about "
                f"**{seconds_text(default_run_seconds())}**.")
    st.plotly_chart(epoch_curve(history, f"{entry.title}: {loss_label(config_of(entry.name))}"), key="train_reference")
