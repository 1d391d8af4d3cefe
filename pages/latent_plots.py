"""Plain helpers for the Latent manifold page (no streamlit, so they test directly): slider ranges, principal
directions of the codes, the scatter-selection → image index rule, and the "holes" measure of a latent grid."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    power = 10 ** math.floor(math.log10(raw))
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


def slider_range(axis: torch.Tensor, values: torch.Tensor, widen: float = 0.25) -> SliderRange:
    """The grid axis widened by `widen` of its half-span each side, and stretched to reach every held-out
    code (so selecting any point can move the slider there), rounded outwards to a 1-2-5 step."""
    low, high = float(axis.min()), float(axis.max())
    pad = (high - low) / 2 * widen
    low, high = min(low - pad, float(values.min())), max(high + pad, float(values.max()))
    step = nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    centre = round(float(axis.mean()) / step) * step
    return SliderRange(round(low, 6), round(high, 6), step, round(min(max(centre, low), high), 6))


# --- principal directions of the codes ----------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    mean: torch.Tensor  # (latent,)
    directions: torch.Tensor  # (k, latent), orthonormal rows
    std: torch.Tensor  # (k,) standard deviation of the codes along each direction
    explained: torch.Tensor  # (k,) fraction of the codes' total variance along each direction

    def code(self, coefficients: Sequence[float]) -> torch.Tensor:
        """mean + Σ a_k·σ_k·v_k for coefficients a_k in standard deviations (fewer than k: the rest are 0)."""
        a = torch.zeros(len(self.std))
        a[:len(coefficients)] = torch.as_tensor(list(coefficients), dtype=torch.float32)
        return self.mean + (a * self.std) @ self.directions

    def project(self, codes: torch.Tensor) -> torch.Tensor:
        """Coordinates of codes along the directions (N, k), in latent units (not standardised)."""
        return (codes - self.mean) @ self.directions.T


def principal_directions(codes: torch.Tensor, k: int) -> Principal:
    """Top-k principal directions of the codes, by SVD of the centred codes."""
    codes = codes.double()
    mean = codes.mean(0)
    _, singular, vh = torch.linalg.svd(codes - mean, full_matrices=False)
    variance = singular ** 2 / max(len(codes) - 1, 1)
    total = variance.sum().clamp_min(1e-300)
    k = min(k, len(variance))
    return Principal(mean=mean.float(), directions=vh[:k].float(), std=variance[:k].sqrt().float(),
                     explained=(variance[:k] / total).float())


def traversal_codes(base: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """Copies of `base` with dimension `dim` swept over `values` (len(values), latent)."""
    codes = base.float().expand(len(values), len(base)).clone()
    codes[:, dim] = values
    return codes


# --- selection on the scatter -------------------------------------------------------------------------------
def selected_indices(selection: Mapping | None) -> list[int]:
    """Held-out image indices in a st.plotly_chart selection: each point's customdata (a number, or a
    one-element list); points without one (the slider-z marker) are skipped."""
    indices = []
    for point in (selection or {}).get("points", []) or []:
        data = point.get("customdata") if isinstance(point, Mapping) else None
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        try:
            indices.append(int(data))
        except (TypeError, ValueError):
            continue
    return indices


def representative(indices: Sequence[int], codes: torch.Tensor) -> int | None:
    """The one image to show for a selection: the point itself, or for a box/lasso of many the one whose
    code is nearest the selection's mean code. Indices out of range are ignored."""
    valid = [i for i in indices if 0 <= i < len(codes)]
    if not valid:
        return None
    chosen = codes[valid].float()
    nearest = torch.cdist(chosen.mean(0, keepdim=True), chosen).argmin()
    return valid[int(nearest)]


# --- holes: where a latent grid has no data ------------------------------------------------------------------
REGIONS = {
    "spread": "each model's own code spread (mean ± 3 std per dimension)",
    "square": "the same square [-3, 3]² for both",
}
REGION_HALF_WIDTH = 3.0
HOLE_RADIUS = REGION_HALF_WIDTH / 6  # a twelfth of the region's side, in the region's units


def region_axes(codes: torch.Tensor, region: str, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Grid axes over the region (xs, ys) and each dimension's unit (1 for the raw square, the codes' std
    for their spread), so distances can be measured in the region's own units."""
    unit_axis = torch.linspace(-REGION_HALF_WIDTH, REGION_HALF_WIDTH, n)
    if region == "square":
        return unit_axis, unit_axis, torch.ones(2)
    mean, std = codes[:, :2].mean(0), codes[:, :2].std(0).clamp_min(1e-12)
    return mean[0] + unit_axis * std[0], mean[1] + unit_axis * std[1], std


@dataclass(frozen=True)
class Holes:
    codes_inside: float  # fraction of held-out codes inside the region
    hole_fraction: float  # fraction of grid points with no held-out code within HOLE_RADIUS
    mean_distance: float  # mean distance from a grid point to its nearest code, in the region's units
    mask: np.ndarray  # (len(ys), len(xs)) bool, row 0 = largest y as in Autoencoder.decode_grid


def holes(codes: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, unit: torch.Tensor) -> Holes:
    """How much of a grid over the first two latent dimensions lies away from every held-out code."""
    scaled = codes[:, :2].float() / unit
    gx, gy = xs.float() / unit[0], ys.float().flip(0) / unit[1]
    points = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1).reshape(-1, 2)
    nearest = torch.cdist(points, scaled).min(1).values
    low = torch.stack([gx.min(), gy.min()])
    high = torch.stack([gx.max(), gy.max()])
    inside = ((scaled >= low) & (scaled <= high)).all(1).float().mean()
    hole = nearest > HOLE_RADIUS
    return Holes(codes_inside=float(inside), hole_fraction=float(hole.float().mean()),
                 mean_distance=float(nearest.mean()), mask=hole.reshape(len(ys), len(xs)).numpy())


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
    import plotly.graph_objects as go  # noqa: PLC0415

    std = codes.std(0).tolist()
    colours = ["#d62728" if d == highlight else "#1f77b4" for d in range(len(std))]
    fig = go.Figure(go.Bar(x=[f"z{d + 1}" for d in range(len(std))], y=std, marker_color=colours,
                           hovertemplate="%{x}: std %{y:.3f}<extra></extra>"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), yaxis_title="std of held-out codes",
                      title="How much each dimension varies over the held-out images")
    return fig
