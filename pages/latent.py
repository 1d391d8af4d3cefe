"""Latent manifold: walk the code space of the sidebar's model, interpolate, sample, and see a plain AE's holes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from functools import partial

import numpy as np
import streamlit as st
import torch

from models.autoencoders import INVERSE_RANGES, Autoencoder, code_range_axis, interpolate_codes
from models.errors import AutoencoderError
from models.latent_analysis import (HOLE_RADIUS, REGION_HALF_WIDTH, REGIONS, Principal, holes, principal_directions,
                                    region_axes, representative, traversal_codes)
from pages.common import (ModelChoice, current, held_out_codes, model_names, pick_model, query_choice, query_float,
                          query_int, set_query, state_from_query, title_of)
from pages.figures import enlarge, gif_bytes, latent_scatter, tile, to_uint8, zoom_factor
from pages.latent_plots import (SliderRange, dimension_spread, grid_axes, selected_indices, slider_range,
                                tile_marked)

GRID_DEFAULT, GRID_RANGE = 15, (5, 25)
STEPS_DEFAULT, STEPS_RANGE = 10, (3, 16)
PC_COUNT, PC_LIMIT = 4, 3.0  # sliders on the top principal directions, each ±3 standard deviations
TRAVERSAL_STEPS = 11
SAMPLE_COUNT = 32
HOLES_GRID = 15
METHODS = {"linear": "linear", "slerp": "spherical (slerp)"}
SINGLE_PX, GRID_PX, STRIP_PX = 196, 720, 84  # on-screen sizes the enlargement aims for


# --- cached arrays derived from a model, keyed by ModelChoice.cache_key ---------------------------------------
@st.cache_data(show_spinner="Decoding the grid…", max_entries=64)
def _grid_cells(key: str, _model: Autoencoder, xs: tuple[float, ...], ys: tuple[float, ...]) -> np.ndarray:
    """uint8 (len(ys), len(xs), H, W) decodes, row 0 = largest y."""
    grid = _model.decode_grid(xs, ys)
    rows, cols = grid.shape[:2]
    return to_uint8(grid.reshape(rows * cols, *grid.shape[2:])).reshape(rows, cols, *grid.shape[-2:])


@st.cache_data(show_spinner=False, max_entries=64)
def _principal(key: str, _codes: torch.Tensor, k: int) -> Principal:
    return principal_directions(_codes, k)


@torch.no_grad()
def _decode(model: Autoencoder, z: torch.Tensor) -> np.ndarray:
    """One decode, the cheap path behind every live slider: a 1×latent tensor through the decoder."""
    return to_uint8(model.decode(z.reshape(1, -1).float().to(model.device)))[0]


def _show(image: np.ndarray, caption: str, target: int = SINGLE_PX, where=st) -> None:
    where.image(enlarge(image, zoom_factor(image.shape[0], target)), caption=caption, clamp=True,
                output_format="PNG")  # PNG: JPEG would smear the crisp enlarged pixels


@contextmanager
def _user_errors():
    """Fragments rerun on their own, outside the page's try: each section catches its own model errors."""
    try:
        yield
    except AutoencoderError as exc:
        st.error(f"{type(exc).__name__}: {exc}")


# --- URL-backed widget state --------------------------------------------------------------------------------
def _seed_float(key: str, bounds: SliderRange) -> None:
    """Seed from the URL once, then keep the value inside this model's range (the range moves with the model)."""
    state_from_query(key, query_float(key, bounds.default, bounds.low, bounds.high))
    clamped = bounds.clamp(st.session_state[key])
    if clamped != st.session_state[key]:
        st.session_state[key] = clamped


def _seed_int(key: str, default: int, low: int, high: int) -> None:
    state_from_query(key, query_int(key, default, low, high))
    value = st.session_state[key]
    clamped = min(max(int(value), low), high) if isinstance(value, (int, float)) else default
    if clamped != value:
        st.session_state[key] = clamped


def _label(choice: ModelChoice, index: int) -> str:
    labels, names = choice.data.test_labels, choice.label_names
    if labels is None:
        return f"held-out #{index}"
    label = int(labels[index])
    return f"held-out #{index}, class {names[label] if names else label}"


def _scatter_labels(choice: ModelChoice):
    labels = choice.data.test_labels
    return (None if labels is None else labels.numpy()), choice.label_names


# --- selection on a scatter of the held-out codes ----------------------------------------------------------
def _on_select(chart_key: str, name: str, codes: torch.Tensor, follow: Callable[[int], None]) -> None:
    """Remember the selected held-out image (for this model) and move the sliders to its code (a callback runs
    before the widgets are drawn, so it may set their state)."""
    indices = selected_indices(st.session_state[chart_key]["selection"])
    index = representative(indices, codes)
    st.session_state["picked"] = (name, index, len(indices))
    if index is not None:
        follow(index)


def _show_picked(choice: ModelChoice, codes: torch.Tensor, area) -> None:
    """The selected held-out image beside the decode of its code, or a hint while nothing is selected."""
    name, index, count = st.session_state.get("picked", (None, None, 0))
    if name != choice.name or index is None or not 0 <= index < len(codes):
        area.caption("Click a point in the scatter (or draw a box or lasso) to see that held-out image beside the "
                     "decode of its code; the sliders move to its code.")
        return
    original_slot, decode_slot = area.columns(2)
    note = f" (of {count} selected: the one nearest their mean code)" if count > 1 else ""
    _show(to_uint8(choice.data.test[index:index + 1])[0], f"{_label(choice, index)}{note}", where=original_slot)
    code = codes[index]
    shown = ", ".join(f"{v:.2f}" for v in code[:4].tolist()) + (", …" if len(code) > 4 else "")
    _show(_decode(choice.model, code), f"decode of its code ({shown})", where=decode_slot)


def _outside_code_range(model: Autoencoder, z: torch.Tensor) -> str:
    """A note when a slider code leaves the range a bounded code activation can produce."""
    activation = model.config.code_activation
    if activation not in INVERSE_RANGES or activation == "identity":
        return ""
    low, high = INVERSE_RANGES[activation]
    outside = int(((z <= low) | (z >= high)).sum())
    if not outside:
        return ""
    return (f" {outside} of its {len(z)} components lie outside {activation}'s range ({low:g}, {high:g}): "
            f"a code the encoder can never produce.")


# --- a 2-D latent: the decoded plane, live sliders, the scatter --------------------------------------------
def _manifold_2d(choice: ModelChoice, codes: torch.Tensor) -> None:
    model = choice.model
    left, right = st.columns([1.05, 1], gap="large")
    with left:
        _seed_int("grid", GRID_DEFAULT, *GRID_RANGE)
        n = st.slider("Grid size (decodes per side)", *GRID_RANGE, key="grid")
        set_query(grid=n)
        xs, ys = grid_axes(model, codes, n)
        cells = _grid_cells(choice.cache_key, model, tuple(xs.tolist()), tuple(ys.tolist()))
        picture = tile(cells.reshape(-1, *cells.shape[-2:]), n, pad=1)
        where = ("evenly spaced quantiles (5%…95%) of the prior N(0, 1), as in Kingma & Welling's figure"
                 if model.has_prior else "the span of the held-out codes (1st–99th percentile, +5% each side)")
        _show(picture, f"{choice.title}: decodes of a {n}×{n} grid over {where}. "
                       f"z1 runs left→right from {xs[0]:.2f} to {xs[-1]:.2f}; "
                       f"z2 runs bottom→top from {ys[0]:.2f} to {ys[-1]:.2f}.", target=GRID_PX)
    with right:
        _explore_2d(choice, codes)


@st.fragment
def _explore_2d(choice: ModelChoice, codes: torch.Tensor) -> None:
    with _user_errors():
        model = choice.model
        bounds = [slider_range(axis, codes[:, d]) for d, axis in enumerate(grid_axes(model, codes, 2))]
        for key, b in zip(("z1", "z2"), bounds):
            _seed_float(key, b)
        z1, z2 = (st.slider(key, b.low, b.high, step=b.step, key=key, format="%.2f")
                  for key, b in zip(("z1", "z2"), bounds))
        set_query(z1=z1, z2=z2)
        z = torch.tensor([z1, z2])
        slider_slot, picked_area = st.columns([1, 2])
        _show(_decode(model, z), f"slider z = ({z1:.2f}, {z2:.2f}).{_outside_code_range(model, z)}",
              where=slider_slot)
        _show_picked(choice, codes, picked_area)

        def follow(index: int) -> None:
            for key, b, value in zip(("z1", "z2"), bounds, codes[index].tolist()):
                st.session_state[key] = b.snap(value)

        labels, names = _scatter_labels(choice)
        fig = latent_scatter(codes.numpy(), labels, names, marker=(z1, z2)).update_layout(margin=dict(t=30))
        st.caption("**Held-out codes**, coloured by class; × marks the slider z.")
        st.plotly_chart(fig, key="scatter", on_select=partial(_on_select, "scatter", choice.name, codes, follow),
                        selection_mode=("points", "box", "lasso"))


# --- a latent above 2: principal directions and per-dimension traversals ------------------------------------
def _principal_view(choice: ModelChoice, codes: torch.Tensor) -> None:
    latent = choice.model.config.latent
    pca = _principal(choice.cache_key, codes, PC_COUNT)
    shares = ", ".join(f"PC{k + 1} {share:.0%}" for k, share in enumerate(pca.explained.tolist()))
    st.markdown(f"A {latent}-D code has no plane to draw, so the sliders move along the **principal directions** "
                f"of the held-out codes: z = mean + Σ aₖ·σₖ·vₖ, each aₖ in standard deviations σₖ of the codes "
                f"along direction vₖ. Share of the codes' variance: {shares} "
                f"({pca.explained.sum():.0%} together).")
    _explore_principal(choice, codes, pca)
    st.divider()
    _traversal(choice, codes)


@st.fragment
def _explore_principal(choice: ModelChoice, codes: torch.Tensor, pca: Principal) -> None:
    with _user_errors():
        k = len(pca.std)
        keys = [f"pc{j + 1}" for j in range(k)]
        bounds = SliderRange(-PC_LIMIT, PC_LIMIT, 0.1, 0.0)
        controls, images, chart = st.columns([1, 1.1, 1.6], gap="medium")
        with controls:
            for j, key in enumerate(keys):
                _seed_float(key, bounds)
                st.slider(f"PC{j + 1} ({pca.explained[j]:.0%} of variance), in σ", bounds.low, bounds.high,
                          step=bounds.step, key=key, format="%.1f")
        values = [float(st.session_state[key]) for key in keys]
        set_query(**dict(zip(keys, values)))
        with images:
            z = pca.code(values)
            terms = " ".join(f"{a:+.1f}σ{j + 1}·v{j + 1}" for j, a in enumerate(values))
            _show(_decode(choice.model, z), f"PC decode: z = mean {terms}.{_outside_code_range(choice.model, z)}")
            _show_picked(choice, codes, st.container())

        projected = pca.project(codes)

        def follow(index: int) -> None:
            for key, coordinate, std in zip(keys, projected[index].tolist(), pca.std.tolist()):
                st.session_state[key] = bounds.snap(coordinate / std) if std > 0 else 0.0

        with chart:
            if k < 2:
                st.caption("A 1-D code: no plane of principal directions to scatter.")
                return
            labels, names = _scatter_labels(choice)
            marker = (values[0] * float(pca.std[0]), values[1] * float(pca.std[1]))
            fig = latent_scatter(projected.numpy(), labels, names, marker=marker).update_layout(margin=dict(t=30))
            st.caption("**Held-out codes projected on PC1–PC2**, coloured by class; × marks the slider z.")
            fig.update_layout(xaxis_title=f"PC1 ({pca.explained[0]:.0%} of variance)",
                              yaxis_title=f"PC2 ({pca.explained[1]:.0%} of variance)")
            st.plotly_chart(fig, key="pc_scatter", on_select=partial(_on_select, "pc_scatter", choice.name, codes,
                                                                       follow),
                            selection_mode=("points", "box", "lasso"))


@st.fragment
def _traversal(choice: ModelChoice, codes: torch.Tensor) -> None:
    with _user_errors():
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
        _show(tile(frames, TRAVERSAL_STEPS, pad=2), f"z{dim} swept from {values[0]:.2f} to {values[-1]:.2f} "
              f"(the span of the held-out codes, 1st–99th percentile +5%), every other dimension at the mean "
              f"held-out code; {choice.title}", target=STRIP_PX)
        if spread[dim - 1] < 0.2 * spread.max():
            collapsed = (" In a VAE this is the mark of a collapsed unit: the KL term pulls a dimension the decoder "
                         "does not need back to the prior, whatever the image." if choice.model.has_prior else "")
            st.caption(f"z{dim} barely varies over the held-out images (std {spread[dim - 1]:.2f}; the widest "
                       f"dimension has {spread.max():.2f}): the encoder hardly uses it.{collapsed}")


# --- interpolation between two held-out images -------------------------------------------------------------
def _interpolation(choice: ModelChoice, codes: torch.Tensor) -> None:
    model, count = choice.model, len(codes)
    pick_a, pick_b, pick_steps, pick_method = st.columns(4)
    _seed_int("a", 0, 0, count - 1)
    _seed_int("b", min(1, count - 1), 0, count - 1)
    _seed_int("steps", STEPS_DEFAULT, *STEPS_RANGE)
    state_from_query("method", query_choice("method", list(METHODS), "linear"))
    a = pick_a.number_input(f"Image A (held-out index 0…{count - 1})", 0, count - 1, step=1, key="a")
    b = pick_b.number_input(f"Image B (held-out index 0…{count - 1})", 0, count - 1, step=1, key="b")
    steps = pick_steps.slider("Steps", *STEPS_RANGE, key="steps")
    method = pick_method.radio("GIF download of", list(METHODS), key="method", format_func=METHODS.get,
                               horizontal=True)
    set_query(a=a, b=b, steps=steps, method=method)

    za, zb = codes[a], codes[b]
    rows = {m: model.interpolate(za, zb, steps, m) for m in METHODS}
    strip = tile(to_uint8(torch.cat(list(rows.values()))), steps, pad=2)
    first, middle, last = st.columns([1, 6, 1], vertical_alignment="center")
    _show(to_uint8(choice.data.test[a:a + 1])[0], f"A: {_label(choice, a)}", where=first)
    _show(strip, f"{choice.title}: top row linear (1−t)·z_A + t·z_B, bottom row spherical (slerp), "
                 f"{steps} steps from A's code to B's, decoded.", target=STRIP_PX, where=middle)
    _show(to_uint8(choice.data.test[b:b + 1])[0], f"B: {_label(choice, b)}", where=last)

    mid = {m: float(interpolate_codes(za, zb, 3, m)[1].norm()) for m in METHODS}
    latent = model.config.latent
    note = (f"‖z‖ at the midpoint: linear {mid['linear']:.2f}, slerp {mid['slerp']:.2f} "
            f"(‖z_A‖ = {za.norm():.2f}, ‖z_B‖ = {zb.norm():.2f}; a draw from N(0, I) in {latent}-D typically has "
            f"‖z‖ ≈ √{latent} = {latent ** 0.5:.1f}). Slerp follows an arc around the origin and keeps ‖z‖ near the "
            f"endpoints'; a straight line cuts through the low-norm middle, which in high dimensions the prior "
            f"almost never produces.")
    if not model.has_prior:
        note += (f" This plain AE's codes are not centred on 0 (their mean code has norm "
                 f"{codes.mean(0).norm():.2f}), so its slerp arc is a detour around the origin, not a better path.")
    st.caption(note)
    frames = to_uint8(rows[method])
    st.download_button(f"Download the {METHODS[method]} interpolation as a GIF",
                       gif_bytes(enlarge(frames, zoom_factor(frames.shape[1], 112))),
                       file_name=f"{choice.name}_{a}_to_{b}_{method}.gif", mime="image/gif", key="gif")


# --- samples from the prior ------------------------------------------------------------------------------------
def _next_seed() -> None:
    st.session_state["sample_seed"] += 1


def _samples(choice: ModelChoice, codes: torch.Tensor) -> None:
    model = choice.model
    if not model.has_prior:
        spans = "; ".join(f"z{d + 1} from {lo:.1f} to {hi:.1f}" for d, (lo, hi) in
                          enumerate(zip(codes.min(0).values[:4].tolist(), codes.max(0).values[:4].tolist())))
        st.info(f"**{choice.title} is a plain autoencoder: it has no prior to sample from.** It was trained only "
                f"to reconstruct, so nothing says which codes are likely; its held-out codes span {spans}"
                f"{' …' if codes.shape[1] > 4 else ''}, not N(0, 1). A VAE adds a KL term that pulls its codes "
                f"towards N(0, I), so decoding z ~ N(0, I) gives plausible images: pick one in the sidebar.")
        return
    state_from_query("sample_seed", query_int("seed", 0, 0, 2 ** 31 - 1))
    st.button("New samples", key="new_samples", on_click=_next_seed)
    seed = int(st.session_state["sample_seed"])
    set_query(seed=seed)
    images = model.sample(SAMPLE_COUNT, torch.Generator().manual_seed(seed))
    _show(tile(to_uint8(images), 8, pad=2), f"{SAMPLE_COUNT} samples from {choice.title}: "
          f"z ~ N(0, I) ({model.config.latent}-D, seed {seed}), decoded (the decoder's mean image, no pixel noise).",
          target=STRIP_PX * 4)


# --- holes of a plain AE, side by side with a VAE --------------------------------------------------------------
def _default(names: list[str], preferred: str, prior: bool, dataset: str) -> str:
    if preferred in names:
        return preferred
    kind = "vae" if prior else "ae"
    matching = model_names(dataset, where=lambda c: c.latent == 2 and c.kind == kind)
    return next((n for n in matching if n in names), names[0])


def _holes(choice: ModelChoice) -> None:
    names = model_names(choice.dataset, where=lambda c: c.latent == 2)
    if len(names) < 2:
        st.info(f"This comparison needs two models with a 2-D latent on {choice.dataset}; there "
                f"{'is only ' + title_of(names[0]) if names else 'is none'}. Train one on the Train page.")
        return
    st.markdown("A plain autoencoder is trained only to decode the codes of its training images: nothing shapes "
                "the space between them or says where codes should lie. A VAE's KL term packs its codes towards "
                "N(0, I). Below, both decode a grid over the chosen region; cells whose grid point has **no "
                f"held-out code within {HOLE_RADIUS:g}** (a twelfth of the region's side) are drawn on red: "
                "there the decoder is extrapolating.")
    state_from_query("region", query_choice("region", list(REGIONS), "spread"))
    region = st.radio("Region", list(REGIONS), key="region", format_func=REGIONS.get, horizontal=True)
    set_query(region=region)
    columns = st.columns(2, gap="large")
    for column, (label, key, preferred, prior) in zip(columns, (("Plain autoencoder", "holes_ae", "mnist_ae2", False),
                                                                  ("VAE", "holes_vae", "mnist_vae2", True))):
        with column:
            other = pick_model(label, names, _default(names, preferred, prior, choice.dataset), key=key)
            codes = held_out_codes(other)
            xs, ys, unit = region_axes(codes, region, HOLES_GRID)
            stats = holes(codes, xs, ys, unit)
            cells = _grid_cells(other.cache_key, other.model, tuple(xs.tolist()), tuple(ys.tolist()))
            units = "std of its codes" if region == "spread" else "latent units"
            _show(tile_marked(cells, stats.mask), f"{other.title}: {HOLES_GRID}×{HOLES_GRID} decodes over "
                  f"z1 {xs[0]:.2f}…{xs[-1]:.2f}, z2 {ys[0]:.2f}…{ys[-1]:.2f}; red = no held-out code within "
                  f"{HOLE_RADIUS:g} {units}", target=GRID_PX // 2 + 40)
            inside, empty, distance = st.columns(3)
            inside.metric("Held-out codes in region", f"{stats.codes_inside:.0%}")
            empty.metric("Grid points on red", f"{stats.hole_fraction:.0%}")
            distance.metric("Mean distance to a code", f"{stats.mean_distance:.2f}")
            labels, label_names = _scatter_labels(other)
            fig = latent_scatter(codes.numpy(), labels, label_names, title=f"Held-out codes of {other.title}")
            fig.add_shape(type="rect", x0=float(xs[0]), x1=float(xs[-1]), y0=float(ys[0]), y1=float(ys[-1]),
                          line=dict(color="#d62728", width=3, dash="dash"), layer="above")
            st.plotly_chart(fig, key=f"{key}_scatter")
    st.caption(f"Held-out codes in region: the share of the {len(codes)} held-out images whose code falls inside "
               f"the dashed rectangle. Grid points on red: the share of the {HOLES_GRID}×{HOLES_GRID} grid points "
               f"with no held-out code within {HOLE_RADIUS:g} {'std' if region == 'spread' else 'units'}. "
               f"Mean distance: from each grid point to its nearest held-out code, in the same units. "
               f"Compare both regions: in the raw square [-{REGION_HALF_WIDTH:g}, {REGION_HALF_WIDTH:g}]² a plain "
               f"AE's dense core can look as well filled as the VAE's codes, yet many of its codes lie outside it "
               f"(the first number), where sampling z ~ N(0, I) would never go.")


# --- the page -------------------------------------------------------------------------------------------------
choice = current()
st.title("Latent manifold")
config = choice.model.config
kind = "VAE: codes are the encoder's posterior means μ(x)" if choice.model.has_prior else "plain autoencoder"
st.caption(f"{choice.title} ({kind}) · codes of the {len(choice.data.test)} held-out images, never seen in training")
try:
    codes = held_out_codes(choice)
    manifold, interpolation, samples, comparison = st.tabs(
        ["Manifold", "Interpolation", "Samples from the prior", "Holes: AE vs VAE"])
    with manifold, _user_errors():
        if config.latent == 2:
            _manifold_2d(choice, codes)
        else:
            _principal_view(choice, codes)
    with interpolation, _user_errors():
        _interpolation(choice, codes)
    with samples, _user_errors():
        _samples(choice, codes)
    with comparison, _user_errors():
        _holes(choice)
except AutoencoderError as exc:
    st.error(f"{type(exc).__name__}: {exc}")
