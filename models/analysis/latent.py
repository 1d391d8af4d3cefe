"""The maths of the Latent manifold page (plain torch): principal directions of the codes, a class's mean code,
traversals, and the "holes" of a latent grid (grid points with no held-out code nearby)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


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


def class_mean_code(codes: torch.Tensor, labels: torch.Tensor, label: int) -> torch.Tensor | None:
    """The mean code of the held-out images of one class (an interpolation's end), or None when it has none."""
    members = codes[torch.as_tensor(labels).reshape(-1) == label]
    return members.float().mean(0) if len(members) else None


def traversal_codes(base: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """Copies of `base` with dimension `dim` swept over `values` (len(values), latent)."""
    codes = base.float().expand(len(values), len(base)).clone()
    codes[:, dim] = values
    return codes


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
