"""Drawing helpers of the Latent manifold page (no streamlit, so they test directly): grid axes and slider
ranges, hole-marked tiles and the dimension-spread chart. The maths
(principal directions, holes) lives in models/analysis/latent.py."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from models.autoencoders import Autoencoder, code_range_axis, gaussian_grid_axis

HOLE_TINT = np.array([150, 20, 20], dtype=np.float32)  # background of grid cells with no code nearby


# --- axes and slider ranges ---------------------------------------------------------------------------------
def grid_axes(model: Autoencoder, codes: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where to decode a 2-D grid: N(0,1) quantiles for a model with a prior, else the span of its codes."""
    if model.has_prior:
        axis = gaussian_grid_axis(n)
        return axis, axis
    return code_range_axis(codes, 0, n), code_range_axis(codes, 1, n)


def nice_step(span: float, divisions: int = 400) -> float:
    """A 1-2-5 step that cuts `span` into about `divisions` slider steps."""
    raw = max(span, 1e-6) / divisions
    power = 10.0 ** math.floor(math.log10(raw))  # a float, so that slider bounds stay floats
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


@dataclass(frozen=True)
class SliderRange:
    low: float
    high: float
    step: float
    default: float

    def clamp(self, value: float) -> float:
        return min(max(float(value), self.low), self.high)

    def snap(self, value: float) -> float:
        """The nearest slider position to `value` (a slider shows and decodes only multiples of its step)."""
        return round(self.clamp(round((float(value) - self.low) / self.step) * self.step + self.low), 6)


SLIDER_LIMIT = 1e6  # models whose codes go past this are refused on entry (models.training.checks); sliders never do


def _usable(values: torch.Tensor) -> torch.Tensor:
    """The finite values, clamped to ±SLIDER_LIMIT: a slider's bounds must be numbers the browser can hold."""
    values = values.detach().double().flatten()
    return values[torch.isfinite(values)].clamp(-SLIDER_LIMIT, SLIDER_LIMIT)


def slider_range(axis: torch.Tensor, values: torch.Tensor, widen: float = 0.25) -> SliderRange:
    """The grid axis widened by `widen` of its half-span each side, and stretched to reach every held-out
    code (so selecting any point can move the slider there), rounded outwards to a 1-2-5 step. NaN and
    infinite values are left out and the rest clamped to ±SLIDER_LIMIT, so the bounds are always finite."""
    axis, values = _usable(axis), _usable(values)
    if axis.numel() == 0:
        axis = values if values.numel() else torch.tensor([-1.0, 1.0], dtype=torch.float64)
    if values.numel() == 0:
        values = axis
    low, high = float(axis.min()), float(axis.max())
    pad = (high - low) / 2 * widen
    low, high = min(low - pad, float(values.min())), max(high + pad, float(values.max()))
    if high - low < 1e-6:  # one distinct value: give the slider room to move
        low, high = low - 1.0, high + 1.0
    low, high = max(low, -SLIDER_LIMIT), min(high, SLIDER_LIMIT)
    step = nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    centre = round(float(axis.mean()) / step) * step
    return SliderRange(round(low, 6), round(high, 6), step, round(min(max(centre, low), high), 6))


# --- pictures -------------------------------------------------------------------------------------------------
def tile_marked(images: np.ndarray, mask: np.ndarray, pad: int = 1) -> np.ndarray:
    """uint8 (rows, cols, H, W) decodes → one RGB picture, cells where mask is True on a red background."""
    rows, cols, h, w = images.shape
    canvas = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, 3), 255, dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            cell = images[r, c].astype(np.float32)[..., None] / 255.0
            background = HOLE_TINT if mask[r, c] else np.zeros(3, dtype=np.float32)
            rgb = cell * 255.0 + (1.0 - cell) * background
            canvas[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = rgb.round().astype(np.uint8)
    return canvas


def dimension_spread(codes: torch.Tensor, highlight: int):
    """Bar chart of the held-out codes' standard deviation in each latent dimension, one bar highlighted:
    dimensions the encoder barely uses (a VAE's collapsed units) show as near-zero bars."""
    from ui import pandas_first  # noqa: F401 (before plotly: see that module)
    import plotly.graph_objects as go  # noqa: PLC0415

    std = codes.std(0).tolist()
    colours = ["#d62728" if d == highlight else "#1f77b4" for d in range(len(std))]
    fig = go.Figure(go.Bar(x=[f"z{d + 1}" for d in range(len(std))], y=std, marker_color=colours,
                           hovertemplate="%{x}: std %{y:.3f}<extra></extra>"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), yaxis_title="std of held-out codes",
                      title="How much each dimension varies over the held-out images")
    return fig
