"""Question (b′): a feature picture from the one-hot code eᵢ (unit i on, the others off), through the learned
decoder g or through the inverse path. Plain PyTorch; the sentences are in models/analysis/feature_findings.py."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.analysis.decodings import (EDGE_EPS, _check_single_layer, clip_to_range, decode_learned, decode_pinv,
                                       decode_transpose, inverse_activation)
from models.autoencoders import Autoencoder
from models.errors import ConfigError


def mean_pairwise_correlation(images: torch.Tensor) -> float | None:
    """Mean Pearson correlation between every two of the (finite) images: near 1 when all look alike."""
    flat = images.flatten(1).double()
    flat = flat[torch.isfinite(flat).all(1)]
    if len(flat) < 2:
        return None
    centred = flat - flat.mean(1, keepdim=True)
    unit = centred / centred.norm(dim=1, keepdim=True).clamp_min(1e-300)
    matrix = unit @ unit.t()
    n = len(flat)
    return float((matrix.sum() - matrix.diagonal().sum()) / (n * n - n))


def shared_correlation(pictures: torch.Tensor, common: torch.Tensor) -> float:
    """Mean Pearson correlation of each picture with `common`, the part every unit's picture has."""
    flat = torch.cat([common.flatten(0)[None], pictures.flatten(1)]).double()
    centred = flat - flat.mean(1, keepdim=True)
    unit = centred / centred.norm(dim=1, keepdim=True).clamp_min(1e-300)
    return float((unit[1:] @ unit[0]).mean())


@dataclass(frozen=True)
class Reactivation:
    """Each unit's one-hot code eᵢ decoded through g and, clipped eps inside f's range, through the inverse."""

    eps: float
    code_values: tuple[float, float]  # (on, off) entries of eᵢ after clipping
    inverse_values: tuple[float, float]  # f⁻¹ of them: what unit i and every other unit add through the inverse
    clipped_values: int  # entries of the one-hot codes moved by the clipping
    learned: torch.Tensor  # g(W′eᵢ + b′), (units, C, H, W)
    transpose: torch.Tensor  # Wᵀ(f⁻¹(eᵢ) − b), float64
    pinv: torch.Tensor  # W⁺(f⁻¹(eᵢ) − b), float64
    transpose_common: torch.Tensor  # Wᵀ(f⁻¹(off)·1 − b): the part every transpose picture shares, (C, H, W)

    def correlation(self, path: str) -> float | None:
        """Mean correlation between two units' pictures through `path` (1 = every unit draws the same picture)."""
        return mean_pairwise_correlation(getattr(self, path))

    @property
    def transpose_shared(self) -> float:
        """How alike each transpose picture is to the term all of them share (1 = nothing else in it)."""
        return shared_correlation(self.transpose, self.transpose_common)


@torch.no_grad()
def reactivation(model: Autoencoder, eps: float = EDGE_EPS) -> Reactivation:
    _check_single_layer(model)
    if not 0 < eps < 0.5:
        raise ConfigError(f"ε must be between 0 and 0.5, got {eps}")
    units, activation = model.config.latent, model.config.code_activation
    eye = torch.eye(units, dtype=torch.float64)
    moved = clip_to_range(eye, activation, eps)[1]
    # (on, off) of a code after clipping: 1 − ε and ε for a sigmoid, 1 − ε and 0 for tanh (0 is inside its range)
    values = clip_to_range(torch.tensor([1.0, 0.0]), activation, eps)[0]
    on, off = float(values[0]), float(values[1])
    inverse = inverse_activation(activation, values)
    all_off = torch.full((1, units), off, dtype=torch.float64)
    return Reactivation(
        eps=eps, code_values=(on, off), inverse_values=(float(inverse[0]), float(inverse[1])),
        clipped_values=int(moved.sum()), learned=decode_learned(model, eye),
        transpose=decode_transpose(model, eye, eps), pinv=decode_pinv(model, eye, eps=eps),
        transpose_common=decode_transpose(model, all_off, eps)[0],
    )
