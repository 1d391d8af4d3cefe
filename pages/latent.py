"""Latent manifold: walk the code space of the sidebar's model, interpolate, sample, see a plain AE's holes, and how a
contractive encoder squeezes the space around an input (ui/latent/contraction.py).

The Manifold tab centres on the latent plane (ui/latent/explore.py): it decodes under the pointer in the
browser, and its pins and sliders rerun one fragment. Only the open tab runs (the tab is in the URL).
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st
import torch

from models.analysis.latent import traversal_codes
from models.autoencoders import Autoencoder, code_range_axis
from ui.latent.axis_labels import labelled_grid
from ui.latent.contraction import CONTRACTION_TAB, contraction_tab
from ui.latent.explore import PC_COUNT, explore_2d, explore_principal, principal, show
from ui.latent.holes import holes_tab
from ui.latent.interpolation import interpolation_tab
from ui.latent.plots import dimension_spread, grid_axes
from ui.latent_plane import marks_toggle
from ui.messages import escape_md, user_errors
from ui.pictures import tile, to_uint8
from ui.projector import scaled
from ui.query import query_int, set_query, state_from_query
from ui.session_models import ModelChoice, current, held_out_codes

GRID_DEFAULT, GRID_RANGE = 15, (5, 25)
FACES_GRID_DEFAULT = 7  # 64×64 faces: fewer, larger cells, so each face reads on a projector
TRAVERSAL_STEPS = 11
SAMPLE_COUNT = 32
GRID_PX, STRIP_PX = 640, 84  # on-screen sizes the enlargement aims for
TABS = ["Manifold", "Interpolation", "Samples from the prior", "Holes: AE vs VAE", CONTRACTION_TAB]


# --- cached arrays derived from a model, keyed by ModelChoice.cache_key ---------------------------------------
@st.cache_data(show_spinner="Decoding the grid…", max_entries=64)
def _grid_cells(key: str, _model: Autoencoder, xs: tuple[float, ...], ys: tuple[float, ...]) -> np.ndarray:
    """uint8 (len(ys), len(xs), H, W) decodes, row 0 = largest y."""
    grid = _model.decode_grid(xs, ys)
    rows, cols = grid.shape[:2]
    return to_uint8(grid.reshape(rows * cols, *grid.shape[2:])).reshape(rows, cols, *grid.shape[-2:])


def grid_cells(choice: ModelChoice, xs: tuple[float, ...], ys: tuple[float, ...]) -> np.ndarray:
    return _grid_cells(choice.cache_key, choice.model, xs, ys)


def _seed_int(key: str, default: int, low: int, high: int) -> None:
    state_from_query(key, query_int(key, default, low, high))
    value = st.session_state[key]
    clamped = min(max(int(value), low), high) if isinstance(value, (int, float)) else default
    if clamped != value:
        st.session_state[key] = clamped


# --- the manifold tab ------------------------------------------------------------------------------------------
def _manifold(choice: ModelChoice, codes: torch.Tensor) -> None:
    """The plane first, under one sentence with its number; how it is made and what the codes are, one click
    away."""
    latent, count = choice.model.config.latent, len(codes)
    hover = "point at the plane to decode any z in your browser, next to it"
    # The dots-or-labels switch sits beside the opening sentence, so the plane still starts on the first screen (a
    # VAE's switch for its posterior ellipses is in the plane's legend).
    intro = st.container()
    if choice.data.test_labels is not None:
        intro, switch = st.columns([3, 1], vertical_alignment="center")
        marks_toggle(switch)
    if latent == 2:
        intro.markdown(f"Each dot is the code z of one of **{count} held-out images**; {hover}.")
        explore_2d(choice, codes)
        _about(choice, "")
        st.divider()
        _decoded_grid(choice, codes)
        return
    pca = principal(choice.cache_key, codes, PC_COUNT)
    shares = ", ".join(f"PC{k + 1} {share:.0%}" for k, share in enumerate(pca.explained.tolist()))
    plane_share = f" ({pca.explained[:2].sum():.0%} of their variance)" if len(pca.explained) >= 2 else ""
    intro.markdown(f"Each dot is one of **{count} held-out {latent}-D codes**, on their top two principal "
                   f"directions{plane_share}; {hover}.")
    explore_principal(choice, codes, pca)
    _about(choice, f"A {latent}-D code has no plane to draw, so the plane and the sliders move along the "
                   f"**principal directions** of the held-out codes: z = mean + Σ aₖ·σₖ·vₖ, each aₖ in standard "
                   f"deviations σₖ of the codes along direction vₖ. Share of the codes' variance: {shares} "
                   f"({pca.explained.sum():.0%} together). The sliders PC3, PC4 move the plane's slice.")
    st.divider()
    _traversal(choice, codes)


def _about(choice: ModelChoice, more: str) -> None:
    with st.expander("About this plane: the codes, pins and keys"):
        st.markdown(f"{codes_are(choice)}. {more}")
        st.caption("Point to decode in your browser (nothing goes to the server) · click to pin z (a click near a "
                   "dot pins that image's code) · arrow keys move the pin (Shift: ×10) · the sliders set the pin "
                   "too, and the address keeps it, so a copied link opens the same z. Beside the decode: the "
                   "held-out image whose code is nearest to that z.")


def codes_are(choice: ModelChoice) -> str:
    kind = "VAE: codes are the encoder's posterior means μ(x)" if choice.model.has_prior else "plain autoencoder"
    return (f"{escape_md(choice.title)} ({kind}) · codes of the {len(choice.data.test)} held-out images, never "
            f"seen in training")


def _decoded_grid(choice: ModelChoice, codes: torch.Tensor) -> None:
    model = choice.model
    side = model.config.input_shape[-1]
    _seed_int("grid", GRID_DEFAULT if side <= 32 else FACES_GRID_DEFAULT, *GRID_RANGE)
    picker, picture = st.columns([1, 2.6], gap="large")
    n = picker.slider("Grid size (decodes per side)", *GRID_RANGE, key="grid")
    set_query(grid=n)
    xs, ys = grid_axes(model, codes, n)
    cells = grid_cells(choice, tuple(xs.tolist()), tuple(ys.tolist()))
    where = ("evenly spaced quantiles (5%…95%) of the prior N(0, 1), as in Kingma & Welling's figure"
             if model.has_prior else "the span of the held-out codes (1st–99th percentile, +5% each side)")
    picker.caption(f"The dashed square on the plane above is this grid's extent: {where}. "
                   f"z1 runs left→right from {xs[0]:.2f} to {xs[-1]:.2f}; z2 runs bottom→top from {ys[0]:.2f} to "
                   f"{ys[-1]:.2f}.")
    # Enlarged by a whole number past the column's width, then fitted to it: the browser only ever shrinks it.
    factor = max(1, math.ceil(scaled(GRID_PX) / (n * (side + 1))))
    picture.image(labelled_grid(cells, xs.tolist(), ys.tolist(), factor), output_format="PNG", width="stretch",
                  caption=f"{escape_md(choice.title)}: decodes of a {n}×{n} grid; the axes give each cell's z.")


@st.fragment
def _traversal(choice: ModelChoice, codes: torch.Tensor) -> None:
    with user_errors("drawing one dimension at a time"):
        latent = choice.model.config.latent
        st.subheader("One dimension at a time")
        spread = codes.std(0)
        _seed_int("dim", int(spread.argmax()) + 1, 1, latent)
        picker, chart = st.columns([1, 2])
        with picker:
            dim = st.selectbox("Dimension to sweep", list(range(1, latent + 1)), key="dim",
                               format_func=lambda d: f"z{d}")
        set_query(dim=dim)
        with chart:
            st.plotly_chart(dimension_spread(codes, dim - 1), key="dim_spread")
        values = code_range_axis(codes, dim - 1, TRAVERSAL_STEPS)
        mean = codes.mean(0)
        frames = to_uint8(choice.model.decode_codes(traversal_codes(mean, dim - 1, values)))
        show(tile(frames, TRAVERSAL_STEPS, pad=2), f"z{dim} swept from {values[0]:.2f} to {values[-1]:.2f} "
              f"(the span of the held-out codes, 1st–99th percentile +5%), every other dimension at the mean "
              f"held-out code; {escape_md(choice.title)}", target=scaled(STRIP_PX))
        if spread[dim - 1] < 0.2 * spread.max():
            collapsed = (" In a VAE this is the mark of a collapsed unit: the KL term pulls a dimension the decoder "
                         "does not need back to the prior, whatever the image." if choice.model.has_prior else "")
            st.caption(f"z{dim} barely varies over the held-out images (std {spread[dim - 1]:.2f}; the widest "
                       f"dimension has {spread.max():.2f}): the encoder hardly uses it.{collapsed}")


# --- samples from the prior ------------------------------------------------------------------------------------
def _next_seed() -> None:
    st.session_state["sample_seed"] += 1


def _samples(choice: ModelChoice, codes: torch.Tensor) -> None:
    model = choice.model
    if not model.has_prior:
        spans = "; ".join(f"z{d + 1} from {lo:.1f} to {hi:.1f}" for d, (lo, hi) in
                          enumerate(zip(codes.min(0).values[:4].tolist(), codes.max(0).values[:4].tolist())))
        st.info(f"**{escape_md(choice.title)} is a plain autoencoder: it has no prior to sample from.** It was "
                f"trained only to reconstruct, so nothing says which codes are likely; its held-out codes span {spans}"
                f"{' …' if codes.shape[1] > 4 else ''}, not N(0, 1). A VAE adds a KL term that pulls its codes "
                f"towards N(0, I), so decoding z ~ N(0, I) gives plausible images: pick one in the sidebar.")
        return
    state_from_query("sample_seed", query_int("seed", 0, 0, 2 ** 31 - 1))
    st.button("New samples", key="new_samples", on_click=_next_seed)
    seed = int(st.session_state["sample_seed"])
    set_query(seed=seed)
    images = model.sample(SAMPLE_COUNT, torch.Generator().manual_seed(seed))
    show(tile(to_uint8(images), 8, pad=2), f"{SAMPLE_COUNT} samples from {escape_md(choice.title)}: "
          f"z ~ N(0, I) ({model.config.latent}-D, seed {seed}), decoded (the decoder's mean image, no pixel noise).",
          target=scaled(STRIP_PX * 4))


# --- the page -------------------------------------------------------------------------------------------------
choice = current()
st.title("Latent manifold")
with user_errors("drawing the latent page"):
    codes = held_out_codes(choice)
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    sections = (lambda: _manifold(choice, codes), lambda: interpolation_tab(choice, codes),
                lambda: _samples(choice, codes), lambda: holes_tab(choice, grid_cells),
                lambda: contraction_tab(choice))
    for number, (name, tab, section) in enumerate(zip(TABS, tabs, sections)):
        if tab.open:  # only the open tab runs
            with tab, user_errors(f"drawing the {name} tab"):
                # The Manifold tab says this in its opening sentence and its "About" expander; the Contraction tab
                # compares two models of its own.
                if number and name != CONTRACTION_TAB:
                    st.caption(codes_are(choice))
                section()

from ui.lesson import footer  # noqa: E402  (at the end: the lesson path's Back and Next links)
footer("latent")
