"""What a single-layer autoencoder's hidden units look like, as plain arrays and pictures (no streamlit).

For each unit i of h = f(Wx + b), x̂ = g(W'h + b'): its encoder row w_i, its decoder column w'_i, what the
decoder makes of the one-hot code e_i (with g, and with f⁻¹ as the "why not the inverse?" question asks),
and the unit-norm input that excites it most, x* = w_i / ‖w_i‖.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from models.autoencoders import Autoencoder
from models.errors import ConfigError
from pages.figures import enlarge, tile, to_uint8, zoom_factor

# Pixels where f⁻¹ is undefined: below f's range (f⁻¹ → −∞) and above it (f⁻¹ → +∞). Blue/orange read
# apart for colour-blind viewers too.
BELOW_COLOUR = (31, 119, 180)
ABOVE_COLOUR = (255, 127, 14)
MAX_GRID_UNITS = 100  # a 10×10 tile; a wider model shows its first 100 units in the grids


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


# --- pictures -------------------------------------------------------------------------------------------
def signed_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) → uint8 (N, H, W) with 0 at mid-grey: each image scaled by its own max |x|,
    so white is the most positive pixel and black the most negative (the sign matters for an input)."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 4:
        array = array.mean(axis=1)
    scale = np.abs(array).max(axis=(1, 2), keepdims=True)
    return to_uint8((0.5 + 0.5 * array / np.where(scale > 1e-12, scale, 1.0))[:, None])  # N×1×H×W keeps N


def inverse_rgb(inverse: np.ndarray, undefined: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3): each f⁻¹ decode normalised over its defined pixels only (the clamped ones would
    swamp the scale), with undefined pixels painted: blue below f's range, orange above it."""
    values = np.asarray(inverse, dtype=np.float32)
    mask = np.asarray(undefined, dtype=bool)
    if values.ndim == 4:
        values, mask = values.mean(axis=1), mask.any(axis=1)
    lo = np.where(mask, np.inf, values).min(axis=(1, 2), keepdims=True)
    hi = np.where(mask, -np.inf, values).max(axis=(1, 2), keepdims=True)
    lo, hi = np.where(np.isfinite(lo), lo, 0.0), np.where(np.isfinite(hi), hi, 0.0)  # all undefined: no scale
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    grey = to_uint8(np.where(mask, 0.0, (values - lo) / span)[:, None])
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    rgb[mask & (values < 0)] = BELOW_COLOUR
    rgb[mask & (values >= 0)] = ABOVE_COLOUR
    return rgb


def grid_columns(n: int) -> int:
    return max(1, math.ceil(math.sqrt(n)))


def unit_grid(images: np.ndarray, target: int = 600, pad: int = 2) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, 3) pictures → one enlarged square-ish tile, units row by row."""
    images = np.asarray(images)
    ncols = grid_columns(len(images))
    if images.ndim == 4:
        channels = [tile(images[..., c], ncols, pad=pad) for c in range(images.shape[-1])]
        factor = zoom_factor(channels[0].shape[1], target)
        return np.stack([enlarge(c, factor) for c in channels], axis=-1)
    grid = tile(images, ncols, pad=pad)
    return enlarge(grid, zoom_factor(grid.shape[1], target))


def enlarge_picture(image: np.ndarray, factor: int) -> np.ndarray:
    """enlarge() for one (H, W) or (H, W, 3) picture."""
    if image.ndim == 3:
        return np.stack([enlarge(image[..., c], factor) for c in range(image.shape[-1])], axis=-1)
    return enlarge(image, factor)


# --- the decoder on real codes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeldOutDecodes:
    images: np.ndarray  # (N, C, H, W) held-out inputs
    decoded: np.ndarray  # g(W'h + b'), h = f(Wx + b)
    inverse: np.ndarray  # f⁻¹(W'h + b'), clamped where undefined
    undefined: np.ndarray  # bool
    undefined_percent: float  # over every pixel of every held-out image
    outside_unit_percent: float  # of the defined f⁻¹ pixels, those outside [0, 1]


@torch.no_grad()
def held_out_decodes(model: Autoencoder, x: torch.Tensor, show: int = 8) -> HeldOutDecodes:
    """Encode held-out images, then decode the codes with g and with f⁻¹ (ConfigError where f⁻¹ is not
    defined for this model). Percentages cover all of x; the pictures the first `show`."""
    h = model.embed(x)
    inverse, undefined = model.decode_inverse(h)
    defined = inverse[~undefined]
    outside = ((defined < 0) | (defined > 1)).float().mean().item() * 100 if defined.numel() else 0.0
    return HeldOutDecodes(images=_numpy(x[:show]), decoded=_numpy(model.decode(h[:show])),
                          inverse=_numpy(inverse[:show]), undefined=undefined[:show].cpu().numpy(),
                          undefined_percent=undefined.float().mean().item() * 100,
                          outside_unit_percent=outside)


@torch.no_grad()
def held_out_recon(model: Autoencoder, x: torch.Tensor) -> float:
    """The model's own reconstruction loss per image on x (no penalty terms), for a like-for-like comparison."""
    return float(model.per_sample_error(x, model.reconstruct(x)).mean())


def config_summary(model: Autoencoder) -> str:
    """One line: what this single-layer model is, as its config says."""
    cfg = model.config
    parts = [f"{cfg.latent} {cfg.code_activation} units", "tied W' = Wᵀ" if cfg.tied else "untied W'"]
    if cfg.sparsity != "none" and cfg.sparsity_weight > 0:
        target = f" ρ={cfg.sparsity_target:g}" if cfg.sparsity == "kl" else ""
        parts.append(f"{cfg.sparsity.upper()} sparsity{target}, weight {cfg.sparsity_weight:g}")
    else:
        parts.append("no sparsity")
    parts.append(f"contractive weight {cfg.contractive_weight:g}" if cfg.contractive_weight > 0
                 else "not contractive")
    if cfg.noise != "none" and cfg.noise_level > 0:
        parts.append(f"denoising ({cfg.noise} {cfg.noise_level:g})")
    loss = "BCE" if cfg.loss == "bce" else "MSE ½‖x−x̂‖²"
    parts.append(f"{loss}, {cfg.resolved_output_activation} output")
    return " · ".join(parts)
