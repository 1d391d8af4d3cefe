"""Hidden-unit features: what each unit of a single-layer autoencoder reads and writes, two models side by side.

Opens on the decoder columns (what each unit draws) with one measured sentence on why an untied encoder's rows look
like noise; then question (a), tied (W′ = Wᵀ) against untied, on the shipped converged pair (ui/features/tied.py),
the two models' cards with switching units off one click away (ui/features/switch.py), and (b), decoding with f
against undoing the encoder with f⁻¹ (ui/features/questions.py). The sidebar's Model picker is the left model here
(ui/features/sidebar_link.py).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from models.analysis.activation_words import inverse_key, output_range
from models.analysis.decodings import held_out_recon
from models.analysis.tied_findings import Smoothness, smoothness_lead
from models.analysis.unit_features import UnitFeatures, neighbour_correlation, unit_features
from models.autoencoders import Autoencoder
from models.errors import AutoencoderError
from ui.features.plots import (ABOVE_COLOUR, BELOW_COLOUR, MAX_GRID_UNITS, TILE_STRETCH, VIEWS, config_summary,
                               enlarge_picture, grid_columns, inverse_rgb, signed_uint8, unit_grid)
from ui.features.questions import decodings_section, reactivation_section
from ui.features.sidebar_link import LEFT_HELP, follow_sidebar, left_to_sidebar, sidebar_note
from ui.features.switch import switch_section
from ui.features.tied import tied_section
from ui.legacy_pages import ensure_routed
from ui.messages import escape_md, subscript
from ui.pictures import png_bytes, to_uint8, zoom_factor
from ui.projector import cleared_slot, key_picture, presenting
from ui.query import query_int, set_query, state_from_query
from ui.session_models import ModelChoice, fit_to_show, get_choice, model_names
from ui.sidebar import MODEL_CHANGED_KEY, pick_name

DEFAULTS = ("mnist_tied100", "mnist_untied100")
RIGHT_HELP = "The model to compare with the left one."
GRID_PX = 600  # a 10×10 tile of 28×28 units, enlarged to read from the back of a room
UNIT_PX = 280
BLUE, ORANGE = (f"rgb{BELOW_COLOUR}", f"rgb{ABOVE_COLOUR}")


# --- cached per model, keyed by ModelChoice.cache_key ---------------------------------------------------------
@st.cache_data(show_spinner="Computing every hidden unit…", max_entries=32)
def _features(key: str, _model: Autoencoder) -> UnitFeatures:
    return unit_features(_model)


@st.cache_data(show_spinner=False, max_entries=128)
def _grid_png(key: str, view: str, _model: Autoencoder) -> bytes:
    features = _features(key, _model)
    n = min(features.units, MAX_GRID_UNITS)
    if view == "inverse":
        pictures = inverse_rgb(features.inverse[:n], features.undefined[:n])
    elif view == "max_input":
        pictures = signed_uint8(features.max_input[:n])
    else:
        pictures = to_uint8(getattr(features, view)[:n], normalise="percentile")
    return png_bytes(unit_grid(pictures, GRID_PX))


@st.cache_data(show_spinner=False, max_entries=32)
def _smoothness(key: str, _model: Autoencoder) -> tuple[float, float]:
    features = _features(key, _model)
    return neighbour_correlation(features.encoder), neighbour_correlation(features.decoder)


@st.cache_data(show_spinner=False, max_entries=8)
def _image_smoothness(key: str, _x) -> float:
    return neighbour_correlation(_x.numpy())


@st.cache_data(show_spinner="Reconstructing the held-out digits…", max_entries=32)
def _recon(key: str, _model: Autoencoder, _choice: ModelChoice) -> float:
    return held_out_recon(_model, _choice.data.test)


def features_of(choice: ModelChoice) -> UnitFeatures:
    return _features(choice.cache_key, choice.model)


# --- the page ----------------------------------------------------------------------------------------------
def model_card(choice: ModelChoice, features: UnitFeatures) -> None:
    cfg = choice.model.config
    st.caption(config_summary(choice.model))
    recon = _recon(choice.cache_key, choice.model, choice)
    unit = "BCE" if cfg.loss == "bce" else "½‖x−x̂‖²"
    record_loss = choice.record.get("final_heldout_loss")
    a, b = st.columns(2)
    a.metric(f"Held-out {unit} per image", f"{recon:.2f}",
             help=f"Reconstruction only, computed here on the {len(choice.data.test)} held-out images: "
                  f"the like-for-like number across models.")
    b.metric("Recorded held-out loss", "—" if record_loss is None else f"{record_loss:.2f}",
             help="The training objective on the held-out set: reconstruction plus any weighted penalty "
                  "(sparsity, contractive, a VAE's KL), so it is higher than the reconstruction alone for "
                  "those models.")
    if features.tied_equal and features.tied_shared:
        st.success("**Decoder weights are the encoder's: W′ = Wᵀ.** Checked: `from_code.weight` equals "
                   "`to_code.weight.t()` entry for entry and is the same tensor in memory (one parameter), "
                   "so this model's encoder-row and decoder-column grids coincide.")
    elif features.tied_equal:
        st.info("W′ equals Wᵀ entry for entry here, but is stored as a separate parameter.")
    else:
        st.info(f"**Untied: the decoder has its own W′.** Mean cosine similarity between each encoder row wᵢ "
                f"and its decoder column w′ᵢ: **{features.cosine.mean():.2f}** (1 would mean W′ = Wᵀ up to "
                f"scale; between unrelated units i ≠ j it is {features.cosine_other:.2f}).")


def grid_tab(view: str, choices: list[ModelChoice], feats: list[UnitFeatures]) -> None:
    for column, choice, features in zip(st.columns(2), choices, feats):
        with column:
            if view == "inverse" and features.inverse is None:
                st.info(f"{escape_md(choice.title)}: {features.inverse_error}")
                continue
            shown = min(features.units, MAX_GRID_UNITS)
            note = "" if shown == features.units else f" (first {shown} of {features.units} units)"
            st.image(_grid_png(choice.cache_key, view, choice.model), caption=f"{escape_md(choice.title)}{note}",
                     output_format="PNG")
            if view == "decoded":
                st.caption(f"Decoded values span {features.decoded.min():.3f}…{features.decoded.max():.3f} "
                           f"before each tile is stretched ({choice.model.config.resolved_output_activation} "
                           f"output).")
            elif view == "inverse":
                pct = features.undefined_percent
                st.markdown(f"f⁻¹ undefined at **{pct.mean():.1f}%** of pixels on average "
                            f"(per unit {pct.min():.1f}%…{pct.max():.1f}%).")
            elif view == "max_input":
                st.caption(f"hᵢ(x*) = {features.max_activation.min():.3f}…{features.max_activation.max():.3f} "
                           f"across units; ‖wᵢ‖ = {features.weight_norms.min():.2f}…"
                           f"{features.weight_norms.max():.2f}.")


CAPTIONS = {
    "encoder": "Row i of the encoder W, reshaped to the image: what unit i **reads**. Its pre-activation "
               "wᵢ·x + bᵢ grows with the bright pixels and shrinks with the dark ones. Unit 0 is top-left, "
               f"counting along rows; each tile is stretched over {TILE_STRETCH}, clipped beyond, so a few "
               "extreme weights (such as those on rarely lit border pixels) do not set its scale.",
    "decoder": "Column i of the decoder W′: the image unit i **writes** into the decoder's pre-activation when "
               "hᵢ = 1. For a tied model this is the encoder row itself; for an untied one the decoder is free "
               f"to learn a different picture. Each tile stretched over {TILE_STRETCH}, clipped beyond.",
    "decoded": "The decoder's output for the one-hot code eᵢ (only unit i on): x̂ = g(W′eᵢ + b′) = g(w′ᵢ + b′), "
               "with the model's own output activation g ({g}). Each tile "
               f"is stretched over {TILE_STRETCH}, clipped beyond, so faint strokes show.",
    "inverse": "The same code with f⁻¹ (the inverse of the code activation f) in place of the output activation: "
               "x̂ = f⁻¹(w′ᵢ + b′). This is not the question's formula (that one, Wᵀ(f⁻¹(eᵢ) − b), is below). "
               "Grey pixels are where f⁻¹ is defined (stretched over those pixels only). {f}.",
    "max_input": "x* = wᵢ/‖wᵢ‖: of all inputs with ‖x‖ = 1, the one that drives unit i highest (wᵢ·x ≤ ‖wᵢ‖, "
                 "equal only along wᵢ). Mid-grey is 0, white positive, black negative. It ignores the [0,1] "
                 "pixel range, so it is a direction in pixel space, not a digit.",
}


def caption(view: str, choices: list[ModelChoice]) -> str:
    """The tab's "how to read" text, its activation-dependent part from the two models shown."""
    configs = [choice.model.config for choice in choices]
    if view == "decoded":
        ranges = dict.fromkeys(output_range(c.resolved_output_activation) for c in configs)
        return CAPTIONS[view].format(g="; ".join(ranges))
    if view == "inverse":
        blue, orange = f"<span style='color:{BLUE}'>■ blue</span>", f"<span style='color:{ORANGE}'>■ orange</span>"
        keys = (inverse_key(a, blue, orange) for a in dict.fromkeys(c.code_activation for c in configs))
        return CAPTIONS[view].format(f=". ".join(keys))
    return CAPTIONS[view]


def grid_lead(choices: list[ModelChoice]) -> str:
    """Why the grids look as they do, from each model's measured neighbouring-pixel correlations."""
    models = [Smoothness(side, choice.model.config.tied, *_smoothness(choice.cache_key, choice.model))
              for side, choice in zip(("left", "right"), choices)]
    x = choices[0].data.test
    return smoothness_lead(models, _image_smoothness(f"{choices[0].dataset}:{choices[0].data.source}", x), len(x))


def unit_pictures(features: UnitFeatures, i: int) -> dict[str, np.ndarray]:
    factor = zoom_factor(features.encoder.shape[-1], UNIT_PX)
    pictures = {
        "encoder": to_uint8(features.encoder[i], normalise="percentile"),
        "max_input": signed_uint8(features.max_input[i:i + 1])[0],
        "decoded": to_uint8(features.decoded[i], normalise="percentile"),
    }
    if features.inverse is not None:
        pictures["inverse"] = inverse_rgb(features.inverse[i:i + 1], features.undefined[i:i + 1])[0]
    return {view: enlarge_picture(p, factor) for view, p in pictures.items()}


@st.fragment
def unit_view(choices: list[ModelChoice], feats: list[UnitFeatures]) -> None:
    """One unit of both models, large; a fragment, so moving the slider redraws only this part."""
    units = min(f.units for f in feats)
    state_from_query("unit", query_int("unit", 0, 0, units - 1))
    if not 0 <= st.session_state["unit"] < units:
        st.session_state["unit"] = 0
    per_row = grid_columns(min(feats[0].units, MAX_GRID_UNITS))
    if units > 1:
        i = st.slider("Unit", 0, units - 1, key="unit",
                      help=f"Units are numbered from 0, row by row as in the grids ({per_row} to a row on the left).")
    else:  # a slider needs two values; a one-unit model has just unit 0
        i = 0
    set_query(unit=i)
    for column, choice, features in zip(st.columns(2), choices, feats):
        with column:
            st.markdown(f"**{escape_md(choice.title)}, unit {i}**")
            pictures = unit_pictures(features, i)
            top, bottom = st.columns(2), st.columns(2)
            top[0].image(pictures["encoder"], caption=f"encoder row w{subscript(i)}", output_format="PNG")
            top[1].image(pictures["max_input"], output_format="PNG",
                         caption=f"max-activating input, hᵢ(x*) = {features.max_activation[i]:.3f}")
            bottom[0].image(pictures["decoded"], caption="decoded eᵢ with g", output_format="PNG")
            if "inverse" in pictures:
                bottom[1].image(pictures["inverse"], caption="f⁻¹ at the output (blue/orange: undefined)",
                                output_format="PNG")
                undefined = f"{features.undefined_percent[i]:.1f}%"
            else:
                bottom[1].info("no f⁻¹ for this model")
                undefined = "n/a"
            st.markdown(f"‖wᵢ‖ = **{features.weight_norms[i]:.2f}** · cos(wᵢ, w′ᵢ) = "
                        f"**{features.cosine[i]:.2f}** · f⁻¹ undefined at **{undefined}** of pixels")


def main() -> None:
    ensure_routed()
    st.title("Hidden-unit features")
    # One line, so the grids stay in the first screenful; the two questions are the page's sections below.
    st.markdown("In $h = f(Wx + b)$, $\\hat x = g(W'h + b')$, unit $i$ reads row $w_i$ of $W$ and writes column "
                "$w'_i$ of $W'$: here every unit of two models, then **(a)** tied or untied $W'$, **(b)** f or f⁻¹.")
    names = model_names(where=lambda config: config.single_layer)
    if not names:
        st.warning("No single-layer model is available yet. Train one on the Train page "
                   "(no hidden layers, sigmoid code) and it will appear here.")
        return
    follow_sidebar(names, DEFAULTS[1])
    left, right = st.columns(2)
    with left:
        picked = [pick_name("Left model", names, DEFAULTS[0], key="left", help=LEFT_HELP, on_change=left_to_sidebar)]
    with right:
        picked.append(pick_name("Right model", names, DEFAULTS[1], key="right", avoid=picked[0], help=RIGHT_HELP))
    sidebar_note(names, picked[0])

    # Everything below depends on the two pickers. When one changes, the old models' numbers go at once, before
    # the new model is even loaded, and a spinner stands in their place until the new ones are ready: the
    # pickers and the numbers change together.
    # (On other reruns a container keeps what stood there in place until it is redrawn: no flicker.)
    changed = st.session_state.get("features_shown") != picked
    body = cleared_slot() if changed else st.container()
    if changed:
        with body, st.spinner("Computing every hidden unit of both models…"):
            for choice in map(fit_to_show, map(get_choice, picked)):
                features_of(choice)
                _recon(choice.cache_key, choice.model, choice)
    st.session_state["features_shown"] = picked
    with body.container() if changed else body:
        model_body([fit_to_show(get_choice(name)) for name in picked])


def model_body(choices: list[ModelChoice]) -> None:
    """The page's key picture first (every unit of both models, right under the pickers), then question (a), the
    two models' numbers and question (b)."""
    feats = [features_of(choice) for choice in choices]
    # The open tab is in the URL (?tab=…), so a link opens it; only the open tab is drawn. A link naming the first
    # (default) tab does not override the tab a session kept from an earlier visit, so on arriving here the URL's
    # tab (or the first) is set explicitly.
    if st.session_state.get(MODEL_CHANGED_KEY):
        linked = st.query_params.get("tab")
        st.session_state["tab"] = linked if linked in VIEWS.values() else next(iter(VIEWS.values()))
    for tab, view in zip(st.tabs(list(VIEWS.values()), key="tab", bind="query-params"), VIEWS):
        if tab.open:
            with tab:
                # The decisive numbers above the grids, in the first screenful; on a projector below them, where the
                # key picture's height is fitted to what is left under the pickers.
                lead = st.container()
                with key_picture():
                    grid_tab(view, choices, feats)
                (st.container() if presenting() else lead).markdown(grid_lead(choices))
                with st.expander("How to read these tiles"):
                    st.markdown(caption(view, choices), unsafe_allow_html=True)

    tied_section(choices)

    st.header("The two models")
    for column, choice, features in zip(st.columns(2), choices, feats):
        with column:
            model_card(choice, features)
    switch_section(choices)

    decodings_section(choices)
    reactivation_section(choices)

    st.header("One unit, enlarged")
    unit_view(choices, feats)


try:
    main()
except AutoencoderError as exc:
    st.error(f"Could not show the hidden units: {exc}")

from ui.lesson import footer  # noqa: E402  (at the end: the lesson path's Back and Next links)
footer("features")
