"""Question (b) on the Hidden-unit features page, answered with numbers from the two models picked there: (b) every
way to decode a code, (b′) one unit reactivated; and the tied/untied gap table question (a) reads (ui/features/tied.py
draws (a)). Drawn by pages/features.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from models.analysis import tied_untied
from models.analysis.activation_words import softening_label
from models.analysis.decodings import EDGE_EPS, Decodings, compare_decodings, no_inverse_reason
from models.analysis.feature_findings import (LOSS_NAMES, decoding_findings, decoding_headline, decoding_table,
                                              decoding_verdict, reactivation_findings, reactivation_headline,
                                              shown_outside_shares)
from models.analysis.reactivation import Reactivation, reactivation
from models.analysis.tied_untied import GapTable, load_gap_table
from models.autoencoders import Autoencoder
from models.errors import AutoencoderError
from ui.features.plots import TILE_STRETCH, painted_rgb, rgb_rows
from ui.messages import escape_md
from ui.pictures import png_bytes
from ui.query import query_choice, set_query, state_from_query
from ui.session_models import ModelChoice
from ui.tables import phone_table

SHOWN = 8  # held-out images per decoding row
UNITS_SHOWN = 8  # units per reactivation row
STRIP_PX = 560
SOFTENINGS = {"1e-06": 1e-6, "0.001": 0.001, "0.01": 0.01, "0.1": 0.1}  # ε for the one-hot codes' 1s and 0s
DEFAULT_SOFT = f"{EDGE_EPS:g}"
DECODING_ROWS = "input x · learned g(W′h + b′) · Wᵀ(f⁻¹(h) − b) · W⁺(f⁻¹(h) − b) · f⁻¹(W′h + b′)"
REACTIVATION_ROWS = "g(W′eᵢ + b′) · Wᵀ(f⁻¹(eᵢ) − b) · W⁺(f⁻¹(eᵢ) − b)"


# --- cached per model (shared, read-only) ---------------------------------------------------------------------
@st.cache_resource(show_spinner="Decoding the held-out digits four ways…", max_entries=32)
def _decodings(key: str, _model: Autoencoder, _x) -> Decodings:
    return compare_decodings(_model, _x)


@st.cache_resource(show_spinner=False, max_entries=64)
def _reactivation(key: str, eps: float, _model: Autoencoder) -> Reactivation:
    return reactivation(_model, eps)


@st.cache_data(show_spinner=False, max_entries=64)
def _decoding_png(key: str, _decodings: Decodings) -> bytes:
    rows = [painted_rgb(_decodings.x[:SHOWN].numpy())]
    rows += [painted_rgb(images[:SHOWN].numpy()) for images in _decodings.images.values()]
    return png_bytes(rgb_rows(rows, SHOWN, STRIP_PX))


@st.cache_data(show_spinner=False, max_entries=64)
def _reactivation_png(key: str, eps: float, _r: Reactivation) -> bytes:
    rows = [painted_rgb(_r.learned[:UNITS_SHOWN].numpy(), stretch=True),
            painted_rgb(_r.transpose[:UNITS_SHOWN].numpy(), stretch=True),
            painted_rgb(_r.pinv[:UNITS_SHOWN].numpy(), stretch=True)]
    return png_bytes(rgb_rows(rows, UNITS_SHOWN, STRIP_PX))


def gap_table() -> tuple[GapTable | None, str]:
    """The shipped gap table (re-read when the file changes) and why it is missing or unreadable."""
    path = tied_untied.GAP_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None, ""
    return _read_gap_table(str(path), stamp)


@st.cache_data(show_spinner=False, max_entries=4)
def _read_gap_table(path: str, stamp: int) -> tuple[GapTable | None, str]:
    try:
        return load_gap_table(Path(path)), ""
    except AutoencoderError as exc:
        return None, str(exc)


def held_out_decodings(choice: ModelChoice) -> Decodings:
    """compare_decodings on the choice's held-out images, cached per model."""
    return _decodings(choice.cache_key, choice.model, choice.data.test)


def _invertible(choice: ModelChoice) -> str:
    """Why the inverse decodings cannot be computed for this model ("" when they can)."""
    why = no_inverse_reason(choice.model.config.code_activation)
    return f"{escape_md(choice.title)}: only the learned decoder applies here: {why}." if why else ""


# --- (b) every decoding ------------------------------------------------------------------------------------------
def decodings_section(choices: list[ModelChoice]) -> None:
    st.header("(b) Decode with f, or undo the encoder with f⁻¹?")
    results = []
    for column, choice in zip(st.columns(2), choices):
        with column:
            why = _invertible(choice)
            if why:
                st.info(why)
                continue
            decodings = held_out_decodings(choice)
            results.append((choice, decodings))
            st.image(_decoding_png(choice.cache_key, decodings), output_format="PNG",
                     caption=f"{escape_md(choice.title)}: first {SHOWN} held-out images; rows: {DECODING_ROWS}")
            st.markdown(decoding_headline(decodings))
    if results:
        with st.expander("The formulas, the table and what each number means"):
            decoding_details(results)


def decoding_details(results: list[tuple[ModelChoice, Decodings]]) -> None:
    n = len(results[0][1].x)
    st.markdown("The question proposes to undo the encoder: apply f⁻¹ to the code, remove the hidden bias, "
                "then the transpose. Here is that formula next to the learned decoder and two other candidates, "
                f"each on the same {n} held-out images:")
    # \allowbreak: a phone wraps the four between them instead of scrolling sideways (ui/projector.py PHONE_CSS).
    st.latex(r"\,\underbrace{g(W'h + b')}_{\text{learned}} \quad \allowbreak "
             r"\underbrace{W^\top\big(f^{-1}(h) - b\big)}_{\text{the question's}} \quad \allowbreak "
             r"\underbrace{W^{+}\big(f^{-1}(h) - b\big)}_{\text{pseudo-inverse}} \quad \allowbreak "
             r"\underbrace{f^{-1}(W'h + b')}_{f^{-1}\text{ at the output}}\,")
    eps = results[0][1].eps
    st.caption(f"g runs on the model's own float32 code. The inverse paths run in float64, and f⁻¹ is infinite on "
               f"the edge of f's range, so a value within ε = {eps:g} of it is moved ε inside before f⁻¹ and "
               f"counted. Pictures and loss figures are clipped to [0, 1]; the findings weigh each model by its own "
               f"training loss (" + ", ".join(f"{escape_md(c.title)}: {LOSS_NAMES.get(c.model.config.loss)}"
                                              for c, _ in results) + "). "
               + "; ".join(f"{escape_md(c.title)}: {shown_outside_shares(d, SHOWN)}" for c, d in results))
    tables = [pd.DataFrame(decoding_table(d)).assign(model=c.title) for c, d in results]
    phone_table(pd.concat(tables).set_index(["model", "decoding"]), "decodings")
    for column, (choice, decodings) in zip(st.columns(2), results):
        with column:
            st.markdown(f"**{escape_md(choice.title)}**")
            for line in decoding_findings(decodings, choice.model.config.code_activation, choice.model.config.loss):
                st.markdown(f"- {line}")
    st.markdown(decoding_verdict([d for _, d in results]))


# --- (b′) one unit reactivated -------------------------------------------------------------------------------------
def reactivation_section(choices: list[ModelChoice]) -> None:
    st.subheader("Reactivating one unit: eᵢ through f, or through f⁻¹?")
    state_from_query("soft", query_choice("soft", list(SOFTENINGS), DEFAULT_SOFT))
    eps = SOFTENINGS[st.session_state["soft"]]
    shown = []
    for column, choice in zip(st.columns(2), choices):
        with column:
            why = _invertible(choice)
            if why:
                st.info(why)
                continue
            r = _reactivation(choice.cache_key, eps, choice.model)
            shown.append((choice, r))
            st.image(_reactivation_png(choice.cache_key, eps, r), output_format="PNG",
                     caption=f"{escape_md(choice.title)}, units 0–{min(UNITS_SHOWN, len(r.learned)) - 1} of "
                             f"{len(r.learned)}; rows: {REACTIVATION_ROWS}; each tile stretched over "
                             f"{TILE_STRETCH}")
            st.markdown(reactivation_headline(r))
    with st.expander("How far inside f's range, and the numbers behind each row"):
        label = st.select_slider(softening_label([c.model.config.code_activation for c, _ in shown]),
                                 list(SOFTENINGS), key="soft",
                                 help="f⁻¹ is infinite on the edge of f's range, so the inverse path needs the "
                                      "code moved inside it.")
        set_query(soft=label)
        for column, (choice, r) in zip(st.columns(2), shown):
            with column:
                st.markdown(f"**{escape_md(choice.title)}**")
                for line in reactivation_findings(r, choice.model.config.code_activation):
                    st.markdown(f"- {line}")

