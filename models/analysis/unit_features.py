"""What each hidden unit of a single-layer autoencoder h = f(Wx + b), x̂ = g(W′h + b′) reads and writes.

For each unit i: its encoder row wᵢ, its decoder column w′ᵢ, what the decoder makes of the one-hot code eᵢ (with g,
and with f⁻¹ at the output), the unit-norm input that excites it most, x* = wᵢ/‖wᵢ‖, and whether W′ is Wᵀ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from models.autoencoders import Autoencoder
from models.errors import ConfigError


@dataclass(frozen=True)
class UnitFeatures:
    """Per-unit pictures and numbers of a single-layer model; image arrays are (units, C, H, W) float32."""

    encoder: np.ndarray  # w_i, row i of W
    decoder: np.ndarray  # w'_i, column i of W'
    decoded: np.ndarray  # g(W'e_i + b'): the model's own decoder on the one-hot code
    inverse: np.ndarray | None  # f⁻¹(W'e_i + b'), clamped to finite values where undefined
    undefined: np.ndarray | None  # bool: where W'e_i + b' lies outside f's open range
    inverse_error: str  # why there is no inverse decode for this model ("" when there is)
    max_input: np.ndarray  # x* = w_i / ‖w_i‖
    max_activation: np.ndarray  # (units,) h_i(x*), the most unit i can fire for a unit-norm input
    weight_norms: np.ndarray  # (units,) ‖w_i‖
    cosine: np.ndarray  # (units,) cos(w_i, w'_i)
    cosine_other: float  # mean cos(w_i, w'_j) over i ≠ j: what unrelated directions give
    tied_equal: bool  # W' == Wᵀ entry for entry
    tied_shared: bool  # W' is a view of W's own storage (one parameter)

    @property
    def units(self) -> int:
        return len(self.encoder)

    @property
    def undefined_percent(self) -> np.ndarray | None:
        """(units,) percentage of each unit's pixels where f⁻¹ was undefined."""
        if self.undefined is None:
            return None
        return self.undefined.reshape(self.units, -1).mean(axis=1) * 100.0


def max_activating_inputs(weight: torch.Tensor) -> torch.Tensor:
    """Rows w_i / ‖w_i‖: for h_i = f(w_i·x + b_i) with f increasing, the x with ‖x‖ = 1 that maximises h_i
    (Cauchy–Schwarz: w_i·x ≤ ‖w_i‖, with equality only along w_i)."""
    return weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-12)


def decoder_columns(model: Autoencoder) -> torch.Tensor:
    """W' as one row per unit (units, input_dim): the image each unit adds to the decoder's pre-activation."""
    return model.from_code.weight.t()


def decoder_is_encoder_transpose(model: Autoencoder) -> tuple[bool, bool]:
    """(W' equals Wᵀ entry for entry, W' shares W's storage): the second is what "tied" means."""
    encoder, decoder = model.to_code.weight, model.from_code.weight
    equal = decoder.shape == encoder.t().shape and torch.equal(decoder, encoder.t())
    return bool(equal), decoder.data_ptr() == encoder.data_ptr()


def encoder_decoder_cosines(model: Autoencoder) -> tuple[torch.Tensor, float]:
    """cos(w_i, w'_i) per unit, and the mean cos(w_i, w'_j) over i ≠ j as a chance baseline."""
    encoder = F.normalize(model.to_code.weight, dim=1)
    decoder = F.normalize(decoder_columns(model), dim=1)
    matrix = encoder @ decoder.t()
    n = len(matrix)
    other = (matrix.sum() - matrix.diagonal().sum()) / max(n * n - n, 1)
    return matrix.diagonal().clone(), float(other)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


@torch.no_grad()
def unit_features(model: Autoencoder) -> UnitFeatures:
    """Everything the features page shows about every unit of a single-layer dense model."""
    cfg = model.config
    if not cfg.single_layer:
        raise ConfigError(f"hidden-unit pictures need a single-layer dense model; this one is {cfg.arch} "
                          f"with hidden layers {list(cfg.hidden)}")
    shape = tuple(cfg.input_shape)
    units = cfg.latent
    weight = model.to_code.weight
    eye = torch.eye(units, device=weight.device)
    try:
        inverse, undefined = model.decode_inverse(eye)
        inverse, undefined, inverse_error = _numpy(inverse), undefined.cpu().numpy(), ""
    except ConfigError as exc:
        inverse, undefined, inverse_error = None, None, str(exc)
    best = max_activating_inputs(weight)
    cosine, cosine_other = encoder_decoder_cosines(model)
    tied_equal, tied_shared = decoder_is_encoder_transpose(model)
    return UnitFeatures(
        encoder=_numpy(weight.reshape(units, *shape)),
        decoder=_numpy(decoder_columns(model).reshape(units, *shape)),
        decoded=_numpy(model.decode(eye)),
        inverse=inverse, undefined=undefined, inverse_error=inverse_error,
        max_input=_numpy(best.reshape(units, *shape)),
        max_activation=_numpy(model.encode(best.reshape(units, *shape)).diagonal()),
        weight_norms=_numpy(weight.norm(dim=1)),
        cosine=_numpy(cosine), cosine_other=cosine_other,
        tied_equal=tied_equal, tied_shared=tied_shared,
    )


def neighbour_correlation(tiles: np.ndarray) -> float:
    """Mean over tiles of the Pearson correlation between each pixel and its right and lower neighbour (both
    directions pooled, (N, H, W) or (N, C, H, W) with channels averaged): near 1 for smooth strokes, near 0 for
    pixel noise. A flat tile has no correlation and is left out; nan when every tile is flat."""
    array = np.asarray(tiles, dtype=np.float64)
    if array.ndim == 4:
        array = array.mean(axis=1)
    if array.ndim != 3:
        raise ValueError(f"tiles must be (N, H, W) or (N, C, H, W), got shape {np.shape(tiles)}")
    first = np.concatenate([array[:, :, :-1].reshape(len(array), -1), array[:, :-1, :].reshape(len(array), -1)], 1)
    second = np.concatenate([array[:, :, 1:].reshape(len(array), -1), array[:, 1:, :].reshape(len(array), -1)], 1)
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    scale = np.sqrt((first ** 2).sum(axis=1) * (second ** 2).sum(axis=1))
    kept = scale > 1e-12
    if not kept.any():
        return float("nan")
    return float(((first * second).sum(axis=1)[kept] / scale[kept]).mean())
