"""The maths behind "decode with f or with f⁻¹?" for a single-layer autoencoder h = f(Wx + b), x̂ = g(W′h + b′).

Four ways to turn the code of an image back into an image, every one on the same images:
  learned         g(W′h + b′)          the decoder the model was trained with (float32, as the model runs)
  transpose       Wᵀ(f⁻¹(h) − b)       the asker's formula: undo f, remove the bias, apply the transpose
  pinv            W⁺(f⁻¹(h) − b)       the same with the pseudo-inverse, the best linear "real inverse"
  output_inverse  f⁻¹(W′h + b′)        f⁻¹ at the output instead of g
The inverse paths run in float64 (the code too: in float32 most trained codes have a unit that rounds to exactly
0 or 1, where f⁻¹ is infinite). A value still within EDGE_EPS of the edge of f's range is moved EDGE_EPS inside it
and counted, so every decoding gives a finite image for every input and the figures compare like with like.
Also: the share of an image outside W's row space (what no inverse of an undercomplete code can bring back), and
the one-hot "reactivation" pictures through g and through the inverse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.analysis.image_quality import PSNR_CAP
from models.autoencoders import INVERSE_RANGES, Autoencoder
from models.errors import ConfigError

DECODINGS = {
    "learned": "learned decoder g(W′h + b′)",
    "transpose": "Wᵀ(f⁻¹(h) − b)",
    "pinv": "W⁺(f⁻¹(h) − b)",
    "output_inverse": "f⁻¹(W′h + b′)",
}
INVERSE_PATHS = ("transpose", "pinv", "output_inverse")
EDGE_EPS = 1e-6  # a value within this of f's range edge is moved this far inside before f⁻¹ (f⁻¹ is ±∞ on it)
BCE_EPS = 1e-7  # the clamp of Autoencoder.per_sample_error, so the learned row matches the model's own loss
WHY_NO_INVERSE = {
    "relu": "relu(z) = 0 for every z ≤ 0, so from h = 0 nothing tells which z it came from: relu has no inverse",
}


# --- f⁻¹ and the pieces of W ----------------------------------------------------------------------------------
def no_inverse_reason(activation: str) -> str:
    """Why a code activation has no f⁻¹ ("" when it has one)."""
    if activation in INVERSE_RANGES:
        return ""
    why = WHY_NO_INVERSE.get(activation, f"{activation} is not one-to-one here")
    return f"{why}; decoding with f⁻¹ needs an invertible code activation: sigmoid, tanh or identity"


def inverse_activation(name: str, y: torch.Tensor) -> torch.Tensor:
    """f⁻¹(y) exactly, in y's dtype: ±inf at the ends of f's range, NaN outside it (logit, artanh, identity)."""
    if name == "sigmoid":
        return torch.logit(y)
    if name == "tanh":
        return torch.atanh(y)
    if name == "identity":
        return y
    raise ConfigError(f"the code activation {name} has no inverse: {no_inverse_reason(name)}")


def clip_to_range(y: torch.Tensor, activation: str, eps: float = EDGE_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """y in float64 with every value within eps of f's range edge (or beyond it) moved eps inside, and a mask of
    the values moved. Identity has no edge: nothing moves."""
    y = y.double()
    low, high = INVERSE_RANGES.get(activation, (-math.inf, math.inf))
    clipped = y.clamp(low + eps, high - eps)
    return clipped, clipped != y


def clipped_inverse(activation: str, y: torch.Tensor, eps: float = EDGE_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """f⁻¹ of y clipped eps inside f's range, in float64 (finite everywhere), and the mask of clipped values."""
    clipped, moved = clip_to_range(y, activation, eps)
    return inverse_activation(activation, clipped), moved


def _check_single_layer(model: Autoencoder) -> None:
    cfg = model.config
    if not cfg.single_layer:
        raise ConfigError("inverting the encoder needs a single-layer dense model; this one is "
                          f"{cfg.arch} with hidden layers {list(cfg.hidden)}")
    if cfg.code_activation not in INVERSE_RANGES:
        raise ConfigError(f"this model's code activation is {cfg.code_activation}: "
                          f"{no_inverse_reason(cfg.code_activation)}")


def encode64(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """h = f(Wx + b) computed in float64, (N, units)."""
    _check_single_layer(model)
    pre = x.flatten(1).double() @ model.to_code.weight.double().t() + model.to_code.bias.double()
    return model.code_act(pre)


def pseudo_inverse(weight: torch.Tensor) -> torch.Tensor:
    """W⁺ (input_dim, units) in float64 (an SVD in float32 loses the small singular values)."""
    return torch.linalg.pinv(weight.detach().double())


def recovered_preactivation(model: Autoencoder, h: torch.Tensor, eps: float = EDGE_EPS) -> torch.Tensor:
    """f⁻¹(h) − b in float64, h clipped eps inside f's range: the Wx an inverse of the encoder starts from."""
    inverse, _ = clipped_inverse(model.config.code_activation, h, eps)
    return inverse - model.to_code.bias.double()


# --- the four decodings -----------------------------------------------------------------------------------------
@torch.no_grad()
def decode_learned(model: Autoencoder, h: torch.Tensor) -> torch.Tensor:
    return model.decode(h.float())


@torch.no_grad()
def decode_transpose(model: Autoencoder, h: torch.Tensor, eps: float = EDGE_EPS) -> torch.Tensor:
    """Wᵀ(f⁻¹(h) − b) in float64, shaped like the input."""
    _check_single_layer(model)
    flat = recovered_preactivation(model, h, eps) @ model.to_code.weight.double()
    return flat.reshape(len(h), *model.config.input_shape)


@torch.no_grad()
def decode_pinv(model: Autoencoder, h: torch.Tensor, pinv: torch.Tensor | None = None,
                eps: float = EDGE_EPS) -> torch.Tensor:
    """W⁺(f⁻¹(h) − b) in float64, shaped like the input; pass W⁺ to reuse it."""
    _check_single_layer(model)
    pinv = pseudo_inverse(model.to_code.weight) if pinv is None else pinv.double()
    flat = recovered_preactivation(model, h, eps) @ pinv.t()
    return flat.reshape(len(h), *model.config.input_shape)


@torch.no_grad()
def output_inverse_parts(model: Autoencoder, h: torch.Tensor,
                         eps: float = EDGE_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """f⁻¹(W′h + b′) in float64 with W′h + b′ clipped eps inside f's range, and the mask of clipped pixels (W′h + b′
    can be any real number, so most pixels of most images lie outside f's range)."""
    _check_single_layer(model)
    out, moved = clipped_inverse(model.config.code_activation, model.decode_logits(h.float()), eps)
    return out, moved


def decode_output_inverse(model: Autoencoder, h: torch.Tensor, eps: float = EDGE_EPS) -> torch.Tensor:
    return output_inverse_parts(model, h, eps)[0]


# --- scores --------------------------------------------------------------------------------------------------
def saturated(h: torch.Tensor, activation: str) -> torch.Tensor:
    """(N,) True for codes with at least one unit exactly on the edge of f's range (h rounded to 0 or 1 for a
    sigmoid, ±1 for tanh), where f⁻¹(h) is infinite."""
    low, high = INVERSE_RANGES.get(activation, (-math.inf, math.inf))
    return ((h <= low) | (h >= high)).flatten(1).any(1)


def nonfinite(images: torch.Tensor) -> torch.Tensor:
    """(N,) True for images with at least one inf or NaN pixel."""
    return ~torch.isfinite(images.flatten(1)).all(1)




def psnr(mean_squared_error: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """10·log10(peak² / MSE) in dB per image, capped at PSNR_CAP for a perfect match."""
    return (10 * torch.log10(peak ** 2 / mean_squared_error.clamp_min(1e-300))).clamp(max=PSNR_CAP)


@dataclass(frozen=True)
class Score:
    """How one decoding does on N images. Loss figures are per image over the images in `used` (every finite
    one: all N unless something broke), after clipping to [0, 1] (the image one would display)."""

    images: int  # N
    clipped_images: int  # images whose code (or, for f⁻¹ at the output, whose W′h + b′) had a value clipped at ε
    clipped_values: int  # how many values were clipped, over all N
    used: torch.Tensor  # (N,) bool: the images the loss figures are over
    nonfinite_pixels: float  # fraction of all pixels that are inf/NaN (0 for every clipped path)
    bce: float | None  # −Σ[x log x̂ + (1−x) log(1−x̂)], x̂ clipped to [1e-7, 1 − 1e-7]; None when no image is used
    half_squared: float | None  # ½‖x − x̂‖²
    psnr: float | None  # dB, the mean over the used images of each one's PSNR (peak 1)
    outside_unit: float | None  # fraction of the used images' pixels outside [0, 1] before clipping
    low: float | None  # smallest finite pixel value before clipping
    high: float | None  # largest

    @property
    def finite_images(self) -> int:
        return int(self.used.sum())

    @property
    def nonfinite_images(self) -> int:
        return self.images - self.finite_images


def score(x: torch.Tensor, x_hat: torch.Tensor, clipped: torch.Tensor) -> Score:
    """BCE, ½‖x−x̂‖², PSNR and the counts for decoded images x_hat of inputs x; `clipped` marks clipped values,
    one row per image."""
    x, x_hat = x.flatten(1).double(), x_hat.flatten(1).double()
    used = ~nonfinite(x_hat)
    finite_pixels = x_hat[torch.isfinite(x_hat)]
    low, high = (float(finite_pixels.min()), float(finite_pixels.max())) if finite_pixels.numel() else (None, None)
    clipped = clipped.flatten(1)
    common = dict(images=len(x), clipped_images=int(clipped.any(1).sum()), clipped_values=int(clipped.sum()),
                  used=used, nonfinite_pixels=float((~torch.isfinite(x_hat)).double().mean()), low=low, high=high)
    if not bool(used.any()):
        return Score(bce=None, half_squared=None, psnr=None, outside_unit=None, **common)
    x, x_hat = x[used], x_hat[used]
    shown = x_hat.clamp(0.0, 1.0)
    bce = F.binary_cross_entropy(shown.clamp(BCE_EPS, 1 - BCE_EPS), x, reduction="none").sum(1).mean()
    squared = (shown - x).pow(2)
    return Score(bce=float(bce), half_squared=float(0.5 * squared.sum(1).mean()),
                 psnr=float(psnr(squared.mean(1)).mean()),
                 outside_unit=float(((x_hat < 0) | (x_hat > 1)).double().mean()), **common)


# --- W's row space ------------------------------------------------------------------------------------------------
def row_space_projection(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """W⁺W x in float64: the part of each image that W's code sees. Any decoder W⁺(·) lands in this space."""
    w = weight.detach().double()
    flat = x.flatten(1).double()
    return ((flat @ w.t()) @ torch.linalg.pinv(w).t()).reshape(x.shape)


def outside_row_space_share(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(N,) ‖x − W⁺Wx‖² / ‖x‖²: the share of each image's energy that W's rows cannot see (0 for a blank image).
    W⁺(f⁻¹(h) − b) = W⁺Wx exactly when no code is clipped, so this is all that inverse can ever get wrong."""
    flat = x.flatten(1).double()
    residual = flat - row_space_projection(weight, x).flatten(1)
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
    x: torch.Tensor  # (N, C, H, W) the held-out images, the same for every decoding
    images: dict[str, torch.Tensor]  # decoding name → (N, C, H, W): float32 for g, float64 for the inverse paths
    scores: dict[str, Score]
    outside_share: torch.Tensor  # (N,) share of each image outside W's row space
    units: int
    rank: int  # of W: the dimension of its row space
    singular_values: torch.Tensor  # of W, largest first
    eps: float  # how far inside f's range a clipped value was moved
    float32_saturated: int  # codes with a unit exactly on f's range edge as the model runs (float32)
    code_clipped: torch.Tensor  # (N,) bool: images whose float64 code had a unit clipped at eps
    projection_error: torch.Tensor  # (N,) max |W⁺(f⁻¹(h) − b) − W⁺Wx| per image

    @property
    def code_clipped_images(self) -> int:
        return int(self.code_clipped.sum())

    @property
    def worst_unclipped_error(self) -> float | None:
        """How far W⁺(f⁻¹(h) − b) strays from W⁺Wx on the images whose code was not clipped (float64 rounding)."""
        unclipped = self.projection_error[~self.code_clipped]
        return float(unclipped.max()) if unclipped.numel() else None


@torch.no_grad()
def compare_decodings(model: Autoencoder, x: torch.Tensor, eps: float = EDGE_EPS) -> Decodings:
    """Decode the codes of x four ways, score each on all of x: g on the model's float32 code, the inverse paths on
    the float64 code with values within eps of f's range edge moved eps inside."""
    _check_single_layer(model)
    if not 0 < eps < 0.5:
        raise ConfigError(f"ε must be between 0 and 0.5, got {eps}")
    x = x.float()
    activation = model.config.code_activation
    h32, h64 = model.embed(x), encode64(model, x)
    code_clipped = clip_to_range(h64, activation, eps)[1]
    output, output_clipped = output_inverse_parts(model, h32, eps)
    images = {"learned": decode_learned(model, h32),
              "transpose": decode_transpose(model, h64, eps),
              "pinv": decode_pinv(model, h64, pseudo_inverse(model.to_code.weight), eps),
              "output_inverse": output.reshape(x.shape)}
    clipped = {"learned": torch.zeros(len(x), 1, dtype=torch.bool), "transpose": code_clipped,
               "pinv": code_clipped, "output_inverse": output_clipped}
    exact = row_space_projection(model.to_code.weight, x)
    weight = model.to_code.weight
    return Decodings(x=x, images=images, scores={name: score(x, images[name], clipped[name]) for name in images},
                     outside_share=outside_row_space_share(weight, x), units=model.config.latent,
                     rank=rank(weight), singular_values=singular_values(weight), eps=eps,
                     float32_saturated=int(saturated(h32, activation).sum()), code_clipped=code_clipped.any(1),
                     projection_error=(images["pinv"] - exact).flatten(1).abs().amax(1))


@torch.no_grad()
def held_out_recon(model: Autoencoder, x: torch.Tensor) -> float:
    """The model's own reconstruction loss per image on x (no penalty terms), for a like-for-like comparison."""
    return float(model.per_sample_error(x, model.reconstruct(x)).mean())
