"""A VAE's posterior q(z|x) = N(μ(x), diag σ(x)²) on the latent plane (plain torch): μ and σ of each image, the 1-σ
ellipse of that Gaussian seen on a plane (its projection P diag σ² Pᵀ, with its rotation), and how wide those
clouds are beside the spread of the codes themselves.

A plain autoencoder has no posterior: its code is a point, so these return None for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.autoencoders import Autoencoder


@torch.no_grad()
def posterior_stats(model: Autoencoder, x: torch.Tensor,
                    batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(μ, σ) of q(z|x) for each image, each (N, latent), batched, from the encoder's mean and log-variance;
    None for a model without a posterior (a plain AE). The model's mode is left untouched, as `embed` does."""
    if not model.has_prior:
        return None
    means, spreads = [], []
    for start in range(0, len(x), batch_size):
        mu, logvar = model.encode_stats(x[start:start + batch_size].to(model.device))
        means.append(mu.cpu())
        spreads.append(torch.exp(0.5 * logvar).cpu())
    if not means:
        empty = torch.empty(0, model.config.latent)
        return empty, empty.clone()
    return torch.cat(means), torch.cat(spreads)


def projected_covariance(sigma: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """P diag(σ²) Pᵀ, (N, 2, 2) in float64: the covariance of each q(z|x) seen on the plane whose coordinates are
    z·v₁ and z·v₂ for the rows v₁, v₂ of `directions` (2, latent)."""
    p = directions.double().reshape(2, -1)
    return torch.einsum("ik,nk,jk->nij", p, sigma.double().reshape(len(sigma), -1) ** 2, p)


@dataclass(frozen=True)
class Ellipses:
    """The 1-σ ellipse of each projected posterior, in plane units: the points at Mahalanobis distance 1."""

    semi_axes: torch.Tensor  # (N, 2): the major then the minor semi-axis, √ of the covariance's eigenvalues
    angle: torch.Tensor  # (N,): the major axis's angle from the plane's x axis, radians in (-π/2, π/2]

    def as_array(self):
        """(N, 3) float32 rows [major, minor, angle], as the plane's payload carries them."""
        return torch.cat([self.semi_axes, self.angle[:, None]], 1).float().numpy()


def ellipses(sigma: torch.Tensor, directions: torch.Tensor) -> Ellipses:
    """The 1-σ ellipses of q(z|x) = N(μ, diag σ²) on a plane spanned by `directions` (2, latent), from the
    eigen-decomposition of the projected covariance (an axis-aligned ellipse on a 2-D code's own plane)."""
    values, vectors = torch.linalg.eigh(projected_covariance(sigma, directions))  # ascending eigenvalues
    semi_axes = values.clamp_min(0).sqrt().flip(-1)
    major = vectors[..., :, 1]
    angle = torch.atan2(major[:, 1], major[:, 0])
    # An axis has no direction: fold the angle into (-π/2, π/2].
    angle = torch.where(angle > torch.pi / 2, angle - torch.pi, angle)
    angle = torch.where(angle <= -torch.pi / 2, angle + torch.pi, angle)
    return Ellipses(semi_axes=semi_axes.float(), angle=angle.float())


@dataclass(frozen=True)
class CloudSize:
    """How wide the posteriors are beside the codes' own spread, on the plane."""

    median_major: float  # the median 1-σ ellipse's semi-axes
    median_minor: float
    codes_spread: tuple[float, float]  # standard deviation of the codes along the plane's x and y

    @property
    def ratio(self) -> float:
        """How many median major semi-axes fit in the codes' mean spread: 20 means each cloud is a twentieth."""
        spread = sum(self.codes_spread) / 2
        return spread / self.median_major if self.median_major > 0 else float("inf")


def cloud_size(shape: Ellipses, xy: torch.Tensor) -> CloudSize:
    """The median ellipse of the held-out images beside the spread of their codes on the plane (xy: (N, 2))."""
    spread = xy.double().std(0) if len(xy) > 1 else torch.zeros(2, dtype=torch.float64)
    return CloudSize(median_major=float(shape.semi_axes[:, 0].median()),
                     median_minor=float(shape.semi_axes[:, 1].median()),
                     codes_spread=(float(spread[0]), float(spread[1])))
