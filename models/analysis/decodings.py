"""The maths behind "decode with f or with f⁻¹?" for a single-layer autoencoder h = f(Wx + b), x̂ = g(W′h + b′).

Four ways to turn a code back into an image, computed exactly in float32 (no clamping, so an infinite
f⁻¹ shows up as inf/NaN pixels, as it would in anyone's code):
  learned         g(W′h + b′)          the decoder the model was trained with
  transpose       Wᵀ(f⁻¹(h) − b)       the asker's formula: undo f, remove the bias, apply the transpose
  pinv            W⁺(f⁻¹(h) − b)       the same with the pseudo-inverse, the best linear "real inverse"
  output_inverse  f⁻¹(W′h + b′)        f⁻¹ at the output instead of g
plus the scores the page shows for each, the share of an image outside W's row space (what no inverse of an
undercomplete code can bring back), float32 saturation of the codes, and the one-hot "reactivation" codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.autoencoders import INVERSE_RANGES, Autoencoder
from models.errors import ConfigError

DECODINGS = {
    "learned": "learned decoder g(W′h + b′)",
    "transpose": "Wᵀ(f⁻¹(h) − b)",
    "pinv": "W⁺(f⁻¹(h) − b)",
    "output_inverse": "f⁻¹(W′h + b′)",
}
BCE_EPS = 1e-7  # the clamp of Autoencoder.per_sample_error, so the learned row matches the model's own loss


# --- f⁻¹ and the pieces of W ----------------------------------------------------------------------------------
def inverse_activation(name: str, y: torch.Tensor) -> torch.Tensor:
    """f⁻¹(y) exactly, in y's dtype: ±inf at the ends of f's range, NaN outside it (logit, artanh, identity)."""
    if name == "sigmoid":
        return torch.logit(y)
    if name == "tanh":
        return torch.atanh(y)
    if name == "identity":
        return y
    raise ConfigError(f"the code activation {name} has no inverse; decoding with f⁻¹ needs sigmoid, tanh or "
                      f"identity")


def _check_single_layer(model: Autoencoder) -> None:
    cfg = model.config
    if not cfg.single_layer or cfg.code_activation not in INVERSE_RANGES:
        raise ConfigError("inverting the encoder needs a single-layer dense model with a sigmoid, tanh or "
                          f"identity code; this one is {cfg.arch} with hidden layers {list(cfg.hidden)} and "
                          f"code activation {cfg.code_activation}")


def pseudo_inverse(weight: torch.Tensor) -> torch.Tensor:
    """W⁺ (input_dim, units), computed in float64 (an SVD in float32 loses the small singular values)."""
    return torch.linalg.pinv(weight.detach().double()).to(weight.dtype)


def recovered_preactivation(model: Autoencoder, h: torch.Tensor) -> torch.Tensor:
    """f⁻¹(h) − b: the Wx an inverse of the encoder would start from (inf where h sits on f's range edge)."""
    return inverse_activation(model.config.code_activation, h) - model.to_code.bias


# --- the four decodings -----------------------------------------------------------------------------------------
@torch.no_grad()
def decode_learned(model: Autoencoder, h: torch.Tensor) -> torch.Tensor:
    return model.decode(h)


@torch.no_grad()
def decode_transpose(model: Autoencoder, h: torch.Tensor) -> torch.Tensor:
    """Wᵀ(f⁻¹(h) − b), shaped like the input."""
    _check_single_layer(model)
    flat = recovered_preactivation(model, h) @ model.to_code.weight
    return flat.reshape(len(h), *model.config.input_shape)


@torch.no_grad()
def decode_pinv(model: Autoencoder, h: torch.Tensor, pinv: torch.Tensor | None = None) -> torch.Tensor:
    """W⁺(f⁻¹(h) − b), shaped like the input; pass W⁺ to reuse it."""
    _check_single_layer(model)
    pinv = pseudo_inverse(model.to_code.weight) if pinv is None else pinv
    flat = recovered_preactivation(model, h) @ pinv.t()
    return flat.reshape(len(h), *model.config.input_shape)


@torch.no_grad()
def decode_output_inverse(model: Autoencoder, h: torch.Tensor) -> torch.Tensor:
    """f⁻¹(W′h + b′) exactly: NaN where W′h + b′ lies outside f's range, ±inf on its edge."""
    _check_single_layer(model)
    return inverse_activation(model.config.code_activation, model.decode_logits(h))


DECODERS = {"learned": decode_learned, "transpose": decode_transpose, "pinv": decode_pinv,
            "output_inverse": decode_output_inverse}


# --- scores --------------------------------------------------------------------------------------------------
def saturated(h: torch.Tensor, activation: str) -> torch.Tensor:
    """(N,) True for codes with at least one unit exactly on the edge of f's range (h rounded to 0 or 1 for a
    sigmoid, ±1 for tanh), where f⁻¹(h) is infinite."""
    low, high = INVERSE_RANGES.get(activation, (-math.inf, math.inf))
    return ((h <= low) | (h >= high)).flatten(1).any(1)


def nonfinite(images: torch.Tensor) -> torch.Tensor:
    """(N,) True for images with at least one inf or NaN pixel."""
    return ~torch.isfinite(images.flatten(1)).all(1)


PSNR_CAP = 100.0  # dB for a perfect match, as models.analysis.image_quality caps it


def psnr(mean_squared_error: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """10·log10(peak² / MSE) in dB per image, capped at PSNR_CAP for a perfect match."""
    return (10 * torch.log10(peak ** 2 / mean_squared_error.clamp_min(1e-300))).clamp(max=PSNR_CAP)


@dataclass(frozen=True)
class Score:
    """How one decoding does on N images. Loss figures are per image over the finite images, after clipping to
    [0, 1] (the image one would display); None when no image came out finite."""

    images: int  # N
    saturated_codes: int  # codes with a unit at f's range edge in float32
    nonfinite_images: int  # images with an inf/NaN pixel, left out of the loss figures
    nonfinite_pixels: float  # fraction of all pixels that are inf/NaN
    bce: float | None  # −Σ[x log x̂ + (1−x) log(1−x̂)], x̂ clipped to [1e-7, 1 − 1e-7]
    half_squared: float | None  # ½‖x − x̂‖²
    psnr: float | None  # dB, the mean over the finite images of each one's PSNR (peak 1)
    outside_unit: float | None  # fraction of the finite images' pixels outside [0, 1] before clipping
    low: float | None  # smallest finite pixel value before clipping
    high: float | None  # largest

    @property
    def finite_images(self) -> int:
        return self.images - self.nonfinite_images


def score(x: torch.Tensor, x_hat: torch.Tensor, saturated_codes: torch.Tensor) -> Score:
    """BCE, ½‖x−x̂‖², PSNR and the counts for decoded images x_hat of inputs x."""
    x, x_hat = x.flatten(1).double(), x_hat.flatten(1).double()
    bad = nonfinite(x_hat)
    finite_pixels = x_hat[torch.isfinite(x_hat)]
    low, high = (float(finite_pixels.min()), float(finite_pixels.max())) if finite_pixels.numel() else (None, None)
    common = dict(images=len(x), saturated_codes=int(saturated_codes.sum()), nonfinite_images=int(bad.sum()),
                  nonfinite_pixels=float((~torch.isfinite(x_hat)).double().mean()), low=low, high=high)
    if bool(bad.all()):
        return Score(bce=None, half_squared=None, psnr=None, outside_unit=None, **common)
    x, x_hat = x[~bad], x_hat[~bad]
    clipped = x_hat.clamp(0.0, 1.0)
    bce = F.binary_cross_entropy(clipped.clamp(BCE_EPS, 1 - BCE_EPS), x, reduction="none").sum(1).mean()
    squared = (clipped - x).pow(2)
    return Score(bce=float(bce), half_squared=float(0.5 * squared.sum(1).mean()),
                 psnr=float(psnr(squared.mean(1)).mean()),
                 outside_unit=float(((x_hat < 0) | (x_hat > 1)).double().mean()),
                 **common)


# --- W's row space ------------------------------------------------------------------------------------------------
def row_space_projection(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """W⁺W x: the part of each image that W's code sees. Any decoder of the form W⁺(·) lands in this space."""
    w = weight.detach().double()
    flat = x.flatten(1).double()
    return ((flat @ w.t()) @ torch.linalg.pinv(w).t()).to(x.dtype).reshape(x.shape)


def outside_row_space_share(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(N,) ‖x − W⁺Wx‖² / ‖x‖²: the share of each image's energy that W's rows cannot see (0 for a blank image).
    W⁺(f⁻¹(h) − b) = W⁺Wx exactly when no code saturates, so this is all that inverse can ever get wrong."""
    flat = x.flatten(1).double()
    residual = flat - row_space_projection(weight, x).flatten(1).double()
    energy = flat.pow(2).sum(1)
    return torch.where(energy > 0, residual.pow(2).sum(1) / energy.clamp_min(1e-300), torch.zeros_like(energy))


def singular_values(weight: torch.Tensor) -> torch.Tensor:
    """W's singular values, largest first. Wᵀ undoes W on its row space (WᵀWx = x) only if every one is 1."""
    return torch.linalg.svdvals(weight.detach().double())


def rank(weight: torch.Tensor) -> int:
    return int(torch.linalg.matrix_rank(weight.detach().double()))


# --- everything the page shows about one model's decodings ---------------------------------------------------------
@dataclass(frozen=True)
class Decodings:
    x: torch.Tensor  # (N, C, H, W) the held-out images
    images: dict[str, torch.Tensor]  # decoding name → (N, C, H, W) raw float32 output (may hold inf/NaN)
    scores: dict[str, Score]
    outside_share: torch.Tensor  # (N,) share of each image outside W's row space
    units: int
    rank: int  # of W: the dimension of its row space
    singular_values: torch.Tensor  # of W, largest first
    rounding_error: torch.Tensor  # (N,) max |W⁺(f⁻¹(h) − b) − W⁺Wx| per image (NaN where it is not finite)

    def rounding_worse_than(self, tolerance: float) -> int:
        """Finite images where the float32 inverse strays from the exact projection by more than `tolerance`."""
        return int((self.rounding_error > tolerance).sum())  # NaN compares False

    @property
    def worst_rounding(self) -> float | None:
        finite = self.rounding_error[torch.isfinite(self.rounding_error)]
        return float(finite.max()) if finite.numel() else None


@torch.no_grad()
def compare_decodings(model: Autoencoder, x: torch.Tensor) -> Decodings:
    """Encode x with the model (float32, as it runs), decode the codes four ways and score each."""
    _check_single_layer(model)
    x = x.float()
    h = model.embed(x)
    edge = saturated(h, model.config.code_activation)
    pinv = pseudo_inverse(model.to_code.weight)
    images = {name: (decode_pinv(model, h, pinv) if name == "pinv" else decoder(model, h)).float()
              for name, decoder in DECODERS.items()}
    # W⁺(f⁻¹(h) − b) would equal W⁺Wx exactly; the difference is float32 rounding of h, blown up by f⁻¹
    exact = row_space_projection(model.to_code.weight, x)
    rounding = (images["pinv"] - exact).flatten(1).abs().amax(1)
    rounding[nonfinite(images["pinv"])] = float("nan")  # those are counted as inf/NaN images instead
    return Decodings(x=x, images=images, scores={name: score(x, out, edge) for name, out in images.items()},
                     outside_share=outside_row_space_share(model.to_code.weight, x).float(),
                     units=model.config.latent, rank=rank(model.to_code.weight),
                     singular_values=singular_values(model.to_code.weight), rounding_error=rounding)


@torch.no_grad()
def held_out_recon(model: Autoencoder, x: torch.Tensor) -> float:
    """The model's own reconstruction loss per image on x (no penalty terms), for a like-for-like comparison."""
    return float(model.per_sample_error(x, model.reconstruct(x)).mean())


# --- reactivation: one unit on, the others off ----------------------------------------------------------------------
def softened_codes(units: int, activation: str, eps: float) -> torch.Tensor:
    """One-hot codes eᵢ pulled eps inside f's range: 1 − eps and eps for a sigmoid (0.99/0.01 at eps=0.01),
    1 − eps and 0 for tanh (0 is inside its range), unchanged for identity."""
    low, high = INVERSE_RANGES.get(activation, (-math.inf, math.inf))
    return torch.eye(units).clamp(low + eps, high - eps)


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


@dataclass(frozen=True)
class Reactivation:
    """Each unit's one-hot code eᵢ, and its softened version sᵢ, decoded through g and through the inverse."""

    eps: float
    onehot_learned: torch.Tensor  # g(W′eᵢ + b′), (units, C, H, W)
    onehot_inverse_code: torch.Tensor  # f⁻¹(eᵢ) − b, (units, units): infinite for a sigmoid code
    onehot_transpose: torch.Tensor  # Wᵀ(f⁻¹(eᵢ) − b)
    soft_code_values: tuple[float, float]  # (on, off) entries of sᵢ
    soft_learned: torch.Tensor  # g(W′sᵢ + b′)
    soft_transpose: torch.Tensor  # Wᵀ(f⁻¹(sᵢ) − b)
    soft_pinv: torch.Tensor  # W⁺(f⁻¹(sᵢ) − b)

    @property
    def onehot_inverse_finite_codes(self) -> int:
        """How many one-hot codes have a finite f⁻¹(eᵢ) in every unit."""
        return int(torch.isfinite(self.onehot_inverse_code).all(1).sum())

    @property
    def onehot_transpose_nonfinite(self) -> int:
        return int(nonfinite(self.onehot_transpose).sum())


@torch.no_grad()
def reactivation(model: Autoencoder, eps: float = 0.01) -> Reactivation:
    _check_single_layer(model)
    if not 0 < eps < 0.5:
        raise ConfigError(f"the softening must be between 0 and 0.5, got {eps}")
    units, activation = model.config.latent, model.config.code_activation
    eye, soft = torch.eye(units), softened_codes(units, activation, eps)
    return Reactivation(
        eps=eps, onehot_learned=decode_learned(model, eye), onehot_inverse_code=recovered_preactivation(model, eye),
        onehot_transpose=decode_transpose(model, eye),
        soft_code_values=(float(soft[0, 0]), float(soft[0, 1]) if units > 1 else float(soft[0, 0])),
        soft_learned=decode_learned(model, soft), soft_transpose=decode_transpose(model, soft),
        soft_pinv=decode_pinv(model, soft),
    )
