"""The Latent page's explorer: the in-browser latent plane, the sliders beside it, and what a pinned z shows.

The plane decodes under the pointer in the browser; the server only hears about a click, an arrow key or a
slider, each of which reruns one fragment: the sliders, the bridge (which moves the plane's marker) and the
pinned panel. Nothing outside the fragment is rebuilt, and the plane's payload is sent once per model.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from models.analysis.latent import Principal, principal_directions
from models.analysis.posterior import cloud_size, ellipses, posterior_stats
from models.autoencoders import INVERSE_RANGES, Autoencoder
from ui.latent.plots import SliderRange, grid_axes, slider_range
from ui.latent_plane import bridge, glyphs, plane, spread
from ui.latent_plane.payload import PlaneSpec
from ui.latent_plane.views import (browser_can_decode, code_at, latent_plane, nearest_code, pca_plane,
                                   plane_payload)
from ui.messages import escape_md, user_errors
from ui.pictures import enlarge, to_uint8, zoom_factor
from ui.query import query_float, set_query, state_from_query
from ui.session_models import ModelChoice

PC_COUNT, PC_LIMIT, PC_STEP = 4, 3.0, 0.02  # sliders on the top principal directions, ±3 standard deviations
SINGLE_PX = 150  # the pinned panel's pictures


# --- shared pieces ------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner="Preparing the latent plane…", max_entries=16)
def _payload(plane_id: str, spec_key: str, _choice: ModelChoice, _spec, _xy: torch.Tensor,
             _codes: torch.Tensor) -> bytes:
    """The browser's copy of the model, codes and held-out images; bytes, so read-only and shared."""
    return plane_payload(plane_id, _choice.title, _choice.model, _spec, _xy, _codes, _choice.data)


@st.cache_data(show_spinner=False, max_entries=64)
def _sigma(key: str, _choice: ModelChoice) -> torch.Tensor | None:
    stats = posterior_stats(_choice.model, _choice.data.test)
    return None if stats is None else stats[1]


def held_out_sigma(choice: ModelChoice) -> torch.Tensor | None:
    """σ(x) of each held-out image's posterior (N, latent), once per model; None for a plain AE."""
    return _sigma(choice.cache_key, choice)


@st.cache_data(show_spinner=False, max_entries=64)
def principal(key: str, _codes: torch.Tensor, k: int) -> Principal:
    return principal_directions(_codes, k)


def draw_plane(choice: ModelChoice, section: str, spec, xy: torch.Tensor, codes: torch.Tensor) -> str | None:
    """Mount the plane for this model; returns its id, or None (with a note) when the decoder must stay on the
    server."""
    verdict = browser_can_decode(choice.model)
    if not verdict.ok:
        st.info(f"The latent plane decodes in your browser, but not this model: {verdict.reason}. The sliders "
                f"still work: the server decodes them.")
        return None
    plane_id = f"{section}:{choice.cache_key}"
    try:
        payload = _payload(plane_id, repr(spec), choice, spec, xy, codes)
    except ValueError as exc:  # e.g. a diverged model whose codes are not finite
        st.info(f"The latent plane cannot draw this model ({exc}). The sliders still work: the server decodes "
                f"them.")
        return None
    plane(payload, key=f"plane_{section}")
    return plane_id


@torch.no_grad()
def decode_one(model: Autoencoder, z: torch.Tensor) -> np.ndarray:
    """One decode on the server: a 1×latent tensor through the decoder."""
    return to_uint8(model.decode(z.reshape(1, -1).float().to(model.device)))[0]


def show(image: np.ndarray, caption: str, target: int = SINGLE_PX, where=st) -> None:
    where.image(enlarge(image, zoom_factor(image.shape[0], target)), caption=caption, clamp=True,
                output_format="PNG")  # PNG: JPEG would smear the crisp enlarged pixels


def seed_float(key: str, bounds: SliderRange) -> None:
    """Seed from the URL once, then keep the value inside this model's range (the range moves with the model)."""
    state_from_query(key, query_float(key, bounds.default, bounds.low, bounds.high))
    clamped = bounds.clamp(st.session_state[key])
    if clamped != st.session_state[key]:
        st.session_state[key] = clamped


def label_of(choice: ModelChoice, index: int) -> str:
    labels, names = choice.data.test_labels, choice.label_names
    if labels is None:
        return f"held-out #{index}"
    label = int(labels[index])
    return f"held-out #{index}, class {escape_md(names[label]) if names else label}"  # names: a user's folders


def outside_code_range(model: Autoencoder, z: torch.Tensor) -> str:
    """A note when a code leaves the range a bounded code activation can produce."""
    activation = model.config.code_activation
    if activation not in INVERSE_RANGES or activation == "identity":
        return ""
    low, high = INVERSE_RANGES[activation]
    outside = int(((z <= low) | (z >= high)).sum())
    if not outside:
        return ""
    return (f" {outside} of its {len(z)} components lie outside {activation}'s range ({low:g}, {high:g}): "
            f"a code the encoder can never produce.")


def pinned_panel(choice: ModelChoice, codes: torch.Tensor, z: torch.Tensor, in_browser: bool,
                 what: str = "the pinned z") -> None:
    """The held-out image whose code is nearest to the pinned z: its picture beside the server's decode of z when
    the browser does not decode it; when it does, the plane shows both pictures and this is one line of text.
    what: the pin's name in the caption (e.g. "your image's code z")."""
    index, distance = nearest_code(codes, z)
    shown = ", ".join(f"{v:.2f}" for v in z[:3].tolist()) + (", …" if len(z) > 3 else "")
    caption = (f"Nearest to {what} = ({shown}): {label_of(choice, index)}, {distance:.2f} away"
               f"{outside_code_range(choice.model, z)}")
    if in_browser:  # the plane shows this image beside its decode: here only the numbers, once
        st.caption(caption)
        return
    decoded_slot, nearest_slot = st.columns(2)
    named = "z" if what == "the pinned z" else what  # "Pinned: z = …", or "Pinned: your image's code z = …"
    show(decode_one(choice.model, z), f"Pinned: {named} = ({shown}), decoded on the server.", where=decoded_slot)
    show(_thumbnail(choice.cache_key, choice.data, index), caption, where=nearest_slot)


@st.cache_data(show_spinner=False, max_entries=4096)
def _thumbnail(key: str, _data, index: int) -> np.ndarray:
    """One held-out image, enlarged: the same few recur as a slider sweeps, so each is made once."""
    image = to_uint8(_data.test[index:index + 1])[0]
    return enlarge(image, zoom_factor(image.shape[0], SINGLE_PX))


def _spread(choice: ModelChoice) -> bool | None:
    """Whether the plane draws its posterior ellipses (None: a plain AE, with none to draw and no switch)."""
    return spread() if choice.model.has_prior else None


def spread_note(choice: ModelChoice, directions: torch.Tensor, xy: torch.Tensor) -> None:
    """Under a VAE's plane with its ellipses on: how wide the posteriors are beside the codes' own spread, on the
    plane spanned by `directions` (2, latent), where the codes lie at xy."""
    sigma = held_out_sigma(choice)
    if sigma is None or not spread():
        return
    size = cloud_size(ellipses(sigma, directions), xy)
    where = "on this plane" if sigma.shape[1] == 2 else "projected onto this plane (P·diag σ²·Pᵀ)"
    st.caption(f"Ellipses: each held-out image's posterior q(z|x) = N(μ, diag σ²), 1σ {where}. Median semi-axes "
               f"{size.median_major:.3g} and {size.median_minor:.3g}; the codes themselves spread "
               f"{size.codes_spread[0]:.3g} and {size.codes_spread[1]:.3g} (std), about {size.ratio:.0f} times wider. "
               f"Click a dot to draw from its cloud.")


# --- a 2-D latent ---------------------------------------------------------------------------------------------
def plane_2d(model: Autoencoder, codes: torch.Tensor) -> tuple[PlaneSpec, tuple[SliderRange, SliderRange]]:
    """A 2-D code's plane over its sliders' ranges, with the decoded grid's extent dashed, and those ranges."""
    grid_x, grid_y = grid_axes(model, codes, 2)
    bounds = (slider_range(grid_x, codes[:, 0]), slider_range(grid_y, codes[:, 1]))
    grid = (float(grid_x[0]), float(grid_x[-1]), float(grid_y[0]), float(grid_y[-1]))
    return latent_plane(bounds, grid), bounds


def explore_2d(choice: ModelChoice, codes: torch.Tensor) -> None:
    spec, bounds = plane_2d(choice.model, codes)
    # The plane and its decode take the page's width (the component lays them side by side); the sliders, the
    # second way to set z, go under them.
    plane_id = draw_plane(choice, "manifold", spec, codes, codes)
    _sliders_2d(choice, codes, bounds, plane_id)


@st.fragment
def _sliders_2d(choice: ModelChoice, codes: torch.Tensor, bounds: tuple[SliderRange, SliderRange],
                plane_id: str | None) -> None:
    with user_errors("drawing the sliders and the pinned code"):
        for key, b in zip(("z1", "z2"), bounds):
            seed_float(key, b)
        z1, z2 = (column.slider(key, b.low, b.high, step=b.step, key=key, format="%.2f")
                  for column, key, b in zip(st.columns(2, gap="large"), ("z1", "z2"), bounds))
        set_query(z1=z1, z2=z2)

        def on_pin(x: float, y: float) -> None:
            for key, b, value in zip(("z1", "z2"), bounds, (x, y)):
                st.session_state[key] = b.snap(value)

        if plane_id is not None:
            # A click on a dot pins that code, snapped to the sliders: within half a step of it.
            code = code_at(codes, (z1, z2), [0.51 * b.step for b in bounds])
            bridge(plane_id, key="bridge_manifold", pin=(z1, z2), on_pin=on_pin,
                   live={"x": {"key": "z1", "scale": 1.0}, "y": {"key": "z2", "scale": 1.0}, "base": None,
                         "terms": []}, glyphs=glyphs(), posterior=True, code=code, spread=_spread(choice))
            spread_note(choice, torch.eye(2), codes)
        pinned_panel(choice, codes, torch.tensor([z1, z2]), in_browser=plane_id is not None)


# --- a wider latent: the plane of the first two principal directions -----------------------------------------
def explore_principal(choice: ModelChoice, codes: torch.Tensor, pca: Principal) -> None:
    k = len(pca.std)
    projected = pca.project(codes)
    plane_id = None
    if k >= 2:
        spec = pca_plane(pca, PC_LIMIT)
        plane_id = draw_plane(choice, "pca", spec, projected[:, :2], codes)
    else:
        st.caption("A 1-D code: no plane of principal directions to draw; the slider moves along the only one.")
    _sliders_principal(choice, codes, pca, plane_id)


@st.fragment
def _sliders_principal(choice: ModelChoice, codes: torch.Tensor, pca: Principal, plane_id: str | None) -> None:
    with user_errors("drawing the principal-direction sliders and the pinned code"):
        k = len(pca.std)
        keys = [f"pc{j + 1}" for j in range(k)]
        bounds = SliderRange(-PC_LIMIT, PC_LIMIT, PC_STEP, 0.0)
        for j, (key, column) in enumerate(zip(keys, st.columns(k, gap="medium"))):
            seed_float(key, bounds)
            column.slider(f"PC{j + 1} ({pca.explained[j]:.0%} of variance), in σ", bounds.low, bounds.high,
                      step=bounds.step, key=key, format="%.2f")
        values = [float(st.session_state[key]) for key in keys]
        set_query(**dict(zip(keys, values)))
        std = pca.std.tolist()

        def on_pin(x: float, y: float) -> None:
            for key, coordinate, s in zip(keys, (x, y), std):
                st.session_state[key] = bounds.snap(coordinate / s) if s > 0 else 0.0

        if plane_id is not None:
            base = pca.code([0.0, 0.0, *values[2:]])  # the other directions; the plane adds PC1 and PC2
            terms = [{"key": key, "vector": (pca.std[j] * pca.directions[j]).tolist()}
                     for j, key in enumerate(keys) if j >= 2]
            pin = (values[0] * std[0], values[1] * std[1])
            code = code_at(pca.project(codes)[:, :2], pin, [0.51 * PC_STEP * s for s in std[:2]])
            bridge(plane_id, key="bridge_pca", pin=pin, base=base.tolist(), on_pin=on_pin,
                   live={"x": {"key": "pc1", "scale": std[0]}, "y": {"key": "pc2", "scale": std[1]},
                         "base": pca.mean.tolist(), "terms": terms}, glyphs=glyphs(), posterior=True, code=code,
                   spread=_spread(choice))
            spread_note(choice, pca.directions[:2], pca.project(codes)[:, :2])
        pinned_panel(choice, codes, pca.code(values), in_browser=plane_id is not None)


# --- a plane without sliders (Holes, the code of a user's image) ---------------------------------------------
@st.fragment
def free_pin(choice: ModelChoice, codes: torch.Tensor, key: str, plane_id: str | None, overlays: list[dict],
             hint: str, extent: tuple[float, float, float, float] | None = None,
             start: tuple[float, float] | None = None, start_name: str = "") -> None:
    """The plane's pin lives in session state, per model (a pin made on another model is not shown). start: where
    the plane opens pinned, named start_name (a user's image's code), until the user pins elsewhere; a pin made
    while another start was shown (an earlier image) is dropped, so each new image opens at its own code."""
    with user_errors("pinning a code on the plane"):
        state_key = f"{key}_pin"
        pin = st.session_state.get(state_key)
        if st.session_state.get(f"{state_key}_model") != (choice.cache_key, start):
            pin = None
        at_start = pin is None and start is not None
        if at_start:
            pin = start
        if plane_id is not None:
            bridge(plane_id, key=f"bridge_{key}", pin=pin, overlays=overlays,
                   on_pin=_remember(state_key, (choice.cache_key, start)), extent=extent, glyphs=glyphs(),
                   pin_label=start_name if at_start else None)
        if pin is None or at_start:
            st.caption(hint)
        if pin is not None:
            pinned_panel(choice, codes, torch.tensor(pin, dtype=torch.float32), in_browser=plane_id is not None,
                         what=f"{start_name} z" if at_start else "the pinned z")


def _remember(state_key: str, owner: tuple):
    """owner: (the model's cache key, the plane's start), the pin's context: a pin made in another is not shown."""
    def on_pin(x: float, y: float) -> None:
        st.session_state[state_key] = (x, y)
        st.session_state[f"{state_key}_model"] = owner
    return on_pin
