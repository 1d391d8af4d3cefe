"""Question (b) on the Hidden-unit features page, answered with numbers from the two models picked there: (b) every
way to decode a code, (b′) one unit reactivated; and the tied/untied gap table question (a) reads (ui/features/tied.py
draws (a)). Drawn by pages/features.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from models.analysis import tied_untied
from models.analysis.decodings import Decodings, Reactivation, compare_decodings, reactivation
from models.analysis.feature_findings import (decoding_findings, decoding_table, decoding_verdict, reactivation_findings,
                                              shown_outside_shares)
from models.analysis.tied_untied import GapTable, load_gap_table
from models.autoencoders import Autoencoder
from models.errors import AutoencoderError
from ui.features.plots import TILE_STRETCH, painted_rgb, rgb_rows
from ui.messages import escape_md
from ui.pictures import png_bytes
from ui.query import query_choice, set_query, state_from_query
from ui.session_models import ModelChoice

SHOWN = 8  # held-out images per decoding row
UNITS_SHOWN = 8  # units per reactivation row
STRIP_PX = 560
SOFTENINGS = {"0.1": 0.1, "0.01": 0.01, "0.001": 0.001, "1e-06": 1e-6}
DECODING_ROWS = "input x · learned g(W′h + b′) · Wᵀ(f⁻¹(h) − b) · W⁺(f⁻¹(h) − b) · f⁻¹(W′h + b′)"
COLOURS = ("Pixels clipped to [0, 1], as the loss figures; painted where there is no number: "
           "<span style='color:rgb(255,127,14)'>■ +∞</span>, <span style='color:rgb(31,119,180)'>■ −∞</span>, "
           "<span style='color:rgb(204,121,167)'>■ NaN</span>.")


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
    rows = [painted_rgb(_r.onehot_learned[:UNITS_SHOWN].numpy(), stretch=True),
            painted_rgb(_r.onehot_transpose[:UNITS_SHOWN].numpy(), stretch=True),
            painted_rgb(_r.soft_learned[:UNITS_SHOWN].numpy(), stretch=True),
            painted_rgb(_r.soft_transpose[:UNITS_SHOWN].numpy(), stretch=True),
            painted_rgb(_r.soft_pinv[:UNITS_SHOWN].numpy(), stretch=True)]
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
    cfg = choice.model.config
    if cfg.code_activation in ("sigmoid", "tanh", "identity"):
        return ""
    return (f"{escape_md(choice.title)}: its {cfg.code_activation} code has no inverse f⁻¹, so only the learned "
            f"decoder applies.")


# --- (b) every decoding ------------------------------------------------------------------------------------------
def decodings_section(choices: list[ModelChoice]) -> None:
    st.header("(b) Decode with f, or undo the encoder with f⁻¹?")
    st.markdown("The question proposes to undo the encoder: apply f⁻¹ to the code, remove the hidden bias, "
                "then the transpose. Here is that formula next to the learned decoder and two other candidates, "
                f"on the {len(choices[0].data.test)} held-out images:")
    st.latex(r"\,\underbrace{g(W'h + b')}_{\text{learned}} \quad "
             r"\underbrace{W^\top\big(f^{-1}(h) - b\big)}_{\text{the question's}} \quad "
             r"\underbrace{W^{+}\big(f^{-1}(h) - b\big)}_{\text{pseudo-inverse}} \quad "
             r"\underbrace{f^{-1}(W'h + b')}_{f^{-1}\text{ at the output}}\,")
    results, tables = [], []
    for column, choice in zip(st.columns(2), choices):
        with column:
            why = _invertible(choice)
            if why:
                st.info(why)
                continue
            decodings = held_out_decodings(choice)
            results.append((choice, decodings))
            st.image(_decoding_png(choice.cache_key, decodings), output_format="PNG",
                     caption=f"{escape_md(choice.title)}: first {SHOWN} held-out images; rows: {DECODING_ROWS}; "
                             f"{shown_outside_shares(decodings, SHOWN)}")
            tables.append(pd.DataFrame(decoding_table(decodings)).assign(model=choice.title))
    if not results:
        return
    st.markdown(COLOURS, unsafe_allow_html=True)
    table = pd.concat(tables).set_index(["model", "decoding"])
    st.table(table)
    st.caption("BCE and ½‖x−x̂‖² per image and PSNR (mean of each image's, peak 1) over the images that came out "
               "finite, after clipping to [0, 1]. A saturated code has a unit at exactly the edge of f's range "
               "in float32, where f⁻¹ is infinite.")
    for column, (choice, decodings) in zip(st.columns(2), results):
        with column:
            st.markdown(f"**{escape_md(choice.title)}**")
            for line in decoding_findings(decodings, choice.model.config.code_activation):
                st.markdown(f"- {line}")
    st.markdown(decoding_verdict([d for _, d in results]))


# --- (b′) one unit reactivated -------------------------------------------------------------------------------------
def reactivation_section(choices: list[ModelChoice]) -> None:
    st.subheader("Reactivating one unit: eᵢ through f, or through f⁻¹?")
    state_from_query("soft", query_choice("soft", list(SOFTENINGS), "0.01"))
    label = st.select_slider("Softened code: on = 1 − ε, off = ε", list(SOFTENINGS), key="soft",
                             help="How far the one-hot code is pulled inside f's range, so that f⁻¹ is finite.")
    set_query(soft=label)
    eps = SOFTENINGS[label]
    for column, choice in zip(st.columns(2), choices):
        with column:
            why = _invertible(choice)
            if why:
                st.info(why)
                continue
            r = _reactivation(choice.cache_key, eps, choice.model)
            st.image(_reactivation_png(choice.cache_key, eps, r), output_format="PNG",
                     caption=f"{escape_md(choice.title)}, units 0–{min(UNITS_SHOWN, len(r.onehot_learned)) - 1}; rows: "
                             "g(W′eᵢ + b′) · Wᵀ(f⁻¹(eᵢ) − b) · g(W′sᵢ + b′) · Wᵀ(f⁻¹(sᵢ) − b) · W⁺(f⁻¹(sᵢ) − b); "
                             f"each tile stretched over {TILE_STRETCH}")
            for line in reactivation_findings(r, choice.model.config.code_activation):
                st.markdown(f"- {line}")
