"""Dense and convolutional autoencoders and VAEs behind one interface.

Every model has encode(x) -> z (a VAE gives its mean), decode(z) -> x̂, forward(x) = decode(encode(x)),
and loss(x) -> dict of named terms. The shared latent operations (embed, reconstruct, interpolate,
decode_grid, sample) live once here on the base class, so the app never asks which kind it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from models import losses
from models.config import ModelConfig
from models.errors import ConfigError
from models.noise import corrupt

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}
# The open range of each invertible activation, for decoding with its inverse.
INVERSE_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "identity": (float("-inf"), float("inf"))}
KERNEL, STRIDE, PADDING = 4, 2, 1


class TiedLinear(nn.Module):
    """x ↦ Wᵀx + b' with W the weight of another Linear: one Parameter, shared, not a copy."""

    def __init__(self, source: nn.Linear):
        super().__init__()
        # A tuple hides the source from nn.Module registration, so state_dict stores W once.
        self._source = (source,)
        self.bias = nn.Parameter(torch.zeros(source.in_features))

    @property
    def weight(self) -> torch.Tensor:
        return self._source[0].weight.t()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self._source[0].weight.t(), self.bias)


def _conv_out(size: int) -> int:
    return (size + 2 * PADDING - KERNEL) // STRIDE + 1


class Autoencoder(nn.Module):
    """A deterministic autoencoder: h = f(encoder(x)), x̂ = g(decoder(h))."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.validate()
        self.code_act = ACTIVATIONS[config.code_activation]()
        self.out_act = ACTIVATIONS[config.resolved_output_activation]()
        if config.arch == "dense":
            self._build_dense()
        else:
            self._build_conv()

    # --- construction -------------------------------------------------------------------------------
    def _build_dense(self) -> None:
        cfg = self.config
        act = ACTIVATIONS[cfg.activation]
        widths = [cfg.input_dim, *cfg.hidden]
        layers = [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
        encoder: list[nn.Module] = [nn.Flatten()]
        for layer in layers:
            encoder += [layer, act()]
        self.encoder = nn.Sequential(*encoder)
        self.to_code = nn.Linear(widths[-1], cfg.latent)
        self.from_code = TiedLinear(self.to_code) if cfg.tied else nn.Linear(cfg.latent, widths[-1])
        decoder: list[nn.Module] = []
        for layer in reversed(layers):
            mirror = TiedLinear(layer) if cfg.tied else nn.Linear(layer.out_features, layer.in_features)
            decoder += [act(), mirror]
        decoder.append(nn.Unflatten(1, cfg.input_shape))
        self.decoder = nn.Sequential(*decoder)
        self._after_tail()

    def _build_conv(self) -> None:
        cfg = self.config
        act = ACTIVATIONS[cfg.activation]
        channels, height, width = cfg.input_shape
        chans = [channels, *cfg.hidden]
        sizes = [(height, width)]
        for _ in cfg.hidden:
            h, w = sizes[-1]
            sizes.append((_conv_out(h), _conv_out(w)))
            if min(sizes[-1]) < 2:
                raise ConfigError(
                    f"{len(cfg.hidden)} stride-2 conv layers shrink a {height}×{width} image below 2×2: "
                    f"use fewer channel entries in hidden"
                )
        encoder: list[nn.Module] = []
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            encoder += [nn.Conv2d(c_in, c_out, KERNEL, STRIDE, PADDING), act()]
        encoder.append(nn.Flatten())
        feat_shape = (chans[-1], *sizes[-1])
        features = feat_shape[0] * feat_shape[1] * feat_shape[2]
        # An optional dense layer on each side of the code: with a 2-D code, the decoder otherwise meets z through
        # one linear map into the conv features.
        dense = cfg.conv_dense
        if dense:
            encoder += [nn.Linear(features, dense), act()]
        self.encoder = nn.Sequential(*encoder)
        self.to_code = nn.Linear(dense or features, cfg.latent)
        self.from_code = nn.Linear(cfg.latent, dense or features)
        decoder: list[nn.Module] = [act()]
        if dense:
            decoder += [nn.Linear(dense, features), act()]
        decoder.append(nn.Unflatten(1, feat_shape))
        for i in range(len(cfg.hidden), 0, -1):
            (h_in, w_in), (h_out, w_out) = sizes[i], sizes[i - 1]
            # output_padding makes each transposed conv land exactly on the encoder's size (odd sizes too).
            pad = (h_out - STRIDE * h_in, w_out - STRIDE * w_in)
            decoder.append(nn.ConvTranspose2d(chans[i], chans[i - 1], KERNEL, STRIDE, PADDING, output_padding=pad))
            if i > 1:
                decoder.append(act())
        self.decoder = nn.Sequential(*decoder)
        self._after_tail()

    def _after_tail(self) -> None:
        """Hook for subclasses that add layers once the trunk exists."""

    # --- the interface ------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.code_act(self.to_code(self.encoder(x)))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output before its output activation."""
        return self.decoder(self.from_code(z))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.out_act(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor, corrupt_input: bool | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Named loss terms, mean over samples. `loss` = recon + weighted penalties; other terms unweighted.

        The input is corrupted (denoising) when training, unless corrupt_input says otherwise;
        the reconstruction is always compared with the clean x.
        """
        x_in = self._maybe_corrupt(x, corrupt_input, generator)
        h = self.encode(x_in)
        terms = {"recon": self.reconstruction_loss(self.decode_logits(h), x)}
        return self._with_penalties(terms, x_in, h)

    # --- pieces shared by loss() of every kind --------------------------------------------------------
    def _maybe_corrupt(self, x, corrupt_input, generator):
        cfg = self.config
        if cfg.noise == "none" or cfg.noise_level == 0:
            return x
        if corrupt_input is None:
            corrupt_input = self.training
        return corrupt(x, cfg.noise, cfg.noise_level, generator) if corrupt_input else x

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "bce":
            return losses.bce_with_logits(logits, x)
        return losses.half_squared_error(self.out_act(logits), x)

    def per_sample_error(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """The model's own reconstruction loss for each sample (N,), for showing beside each image."""
        x, x_hat = x.flatten(1), x_hat.flatten(1)
        if self.config.loss == "bce":
            return F.binary_cross_entropy(x_hat.clamp(1e-7, 1 - 1e-7), x, reduction="none").sum(1)
        return 0.5 * (x_hat - x).pow(2).sum(1)

    def _with_penalties(self, terms: dict, x_in: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.config
        total = terms["recon"]
        if "kl" in terms:
            total = total + cfg.beta * terms["kl"]
        if cfg.sparsity != "none" and cfg.sparsity_weight > 0:
            if cfg.sparsity == "l1":
                terms["sparsity"] = losses.l1_sparsity(h)
            else:
                terms["sparsity"] = losses.kl_sparsity(h, cfg.sparsity_target)
            total = total + cfg.sparsity_weight * terms["sparsity"]
        if cfg.contractive_weight > 0:
            terms["contractive"] = self.contractive_penalty(x_in)
            total = total + cfg.contractive_weight * terms["contractive"]
        terms["loss"] = total
        return terms

    def contractive_penalty(self, x: torch.Tensor) -> torch.Tensor:
        """‖∂h/∂x‖²_F, mean over samples: closed form for a single sigmoid layer, autograd otherwise."""
        if self.config.single_layer and self.config.code_activation == "sigmoid":
            h = self.encode(x)
            return losses.sigmoid_contractive(h, self.to_code.weight)
        return losses.jacobian_frobenius(self.encode, x, create_graph=self.training)

    # --- the inverse-activation decode path (the seed's question) --------------------------------------
    def decode_inverse(self, z: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode with f⁻¹ in place of f: x̂ = f⁻¹(W'z + b') (arctanh for tanh, logit for sigmoid).

        f⁻¹ is only defined inside f's range; outside it the argument is clamped to the range's edge
        (±eps), so the result is always finite. Returns (x̂, mask of entries where f⁻¹ was undefined).
        """
        cfg = self.config
        if not cfg.single_layer or cfg.code_activation not in INVERSE_RANGES:
            raise ConfigError(
                "decoding with the inverse activation needs a single-layer dense model with a sigmoid, "
                f"tanh or identity code; this one is {cfg.arch} with hidden {list(cfg.hidden)} "
                f"and code activation {cfg.code_activation}"
            )
        pre = self.decode_logits(z)
        low, high = INVERSE_RANGES[cfg.code_activation]
        undefined = (pre <= low) | (pre >= high)
        if cfg.code_activation == "sigmoid":
            return torch.logit(pre.clamp(eps, 1 - eps)), undefined
        if cfg.code_activation == "tanh":
            return torch.atanh(pre.clamp(-1 + eps, 1 - eps)), undefined
        return pre, undefined

    # --- shared latent operations ----------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def embed(self, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Codes of x (N, latent), batched, without gradients; the model's mode is left untouched."""
        chunks = [self.encode(x[i:i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(chunks) if chunks else torch.empty(0, self.config.latent)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        chunks = [self.forward(x[i:i + batch_size].to(self.device)).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(chunks) if chunks else torch.empty(0, *self.config.input_shape)

    @torch.no_grad()
    def decode_codes(self, z: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        chunks = [self.decode(z[i:i + batch_size].to(self.device)).cpu() for i in range(0, len(z), batch_size)]
        return torch.cat(chunks) if chunks else torch.empty(0, *self.config.input_shape)

    @torch.no_grad()
    def interpolate(self, z0: torch.Tensor, z1: torch.Tensor, steps: int = 8,
                    method: str = "linear") -> torch.Tensor:
        """Decoded images along the path from z0 to z1 (steps, C, H, W)."""
        return self.decode_codes(interpolate_codes(z0, z1, steps, method))

    @torch.no_grad()
    def decode_grid(self, xs: Sequence[float], ys: Sequence[float], dims: tuple[int, int] = (0, 1),
                    base: torch.Tensor | None = None) -> torch.Tensor:
        """Decode a grid over two latent dimensions (others fixed at `base`, default 0).

        Returns (len(ys), len(xs), C, H, W); row 0 is the largest y, so the grid reads like a plot.
        """
        xs_t = torch.as_tensor(xs, dtype=torch.float32)
        ys_t = torch.as_tensor(ys, dtype=torch.float32).flip(0)
        z = torch.zeros(len(ys_t), len(xs_t), self.config.latent) if base is None else \
            base.float().expand(len(ys_t), len(xs_t), self.config.latent).clone()
        z[..., dims[0]] = xs_t[None, :]
        z[..., dims[1]] = ys_t[:, None]
        images = self.decode_codes(z.reshape(-1, self.config.latent))
        return images.reshape(len(ys_t), len(xs_t), *self.config.input_shape)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        raise ConfigError("a plain autoencoder has no prior to sample from; sampling needs a VAE")

    @property
    def has_prior(self) -> bool:
        return False


class VariationalAutoencoder(Autoencoder):
    """Gaussian encoder q(z|x) = N(μ(x), σ²(x)), standard normal prior, loss = recon + β·KL."""

    LOGVAR_RANGE = (-30.0, 20.0)  # keeps exp(logvar) finite while training goes astray

    def _after_tail(self) -> None:
        self.to_logvar = nn.Linear(self.to_code.in_features, self.config.latent)

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(x)
        return self.to_code(features), self.to_logvar(features).clamp(*self.LOGVAR_RANGE)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.encoder(x))

    def loss(self, x: torch.Tensor, corrupt_input: bool | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        x_in = self._maybe_corrupt(x, corrupt_input, generator)
        mu, logvar = self.encode_stats(x_in)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        z = mu + eps * torch.exp(0.5 * logvar)
        terms = {"recon": self.reconstruction_loss(self.decode_logits(z), x), "kl": losses.gaussian_kl(mu, logvar)}
        return self._with_penalties(terms, x_in, mu)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.config.latent, generator=generator)
        return self.decode_codes(z)

    @property
    def has_prior(self) -> bool:
        return True


def build_model(config: ModelConfig) -> Autoencoder:
    """The one way to make a model: from its config."""
    config.validate()
    return VariationalAutoencoder(config) if config.kind == "vae" else Autoencoder(config)


def interpolate_codes(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """Codes from z0 to z1 inclusive (steps, latent): a straight line, or spherical (slerp) for Gaussian codes.

    Slerp here moves the direction along the great circle from z0's to z1's at constant angular speed and the
    norm linearly from ‖z0‖ to ‖z1‖, so ‖z‖ never leaves the endpoints' range. (The textbook formula
    sin((1−t)Ω)z0/sin Ω + sin(tΩ)z1/sin Ω does that only for equal norms, and divides by sin Ω ≈ 0 for nearly
    opposite codes.)
    """
    if not 2 <= steps <= 256:
        raise ConfigError(f"interpolation steps must be between 2 and 256, got {steps}")
    z0, z1 = z0.float().flatten(), z1.float().flatten()
    t = torch.linspace(0, 1, steps)[:, None]
    if method == "linear":
        return (1 - t) * z0 + t * z1
    if method != "slerp":
        raise ConfigError(f"interpolation method must be 'linear' or 'slerp', got {method!r}")
    path = _slerp(z0.double(), z1.double(), t.double()).float()
    path[0], path[-1] = z0, z1
    return path


def _slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, tiny: float = 1e-12) -> torch.Tensor:
    r0, r1 = z0.norm(), z1.norm()
    if len(z0) < 2 or max(r0, r1) < tiny:  # no circle to follow: on a line, or both codes at the origin
        return (1 - t) * z0 + t * z1
    u0 = z0 / r0 if r0 >= tiny else z1 / r1  # a zero code takes the other's direction
    u1 = z1 / r1 if r1 >= tiny else u0
    cos = torch.dot(u0, u1).clamp(-1.0, 1.0)
    perp = u1 - cos * u0  # the part of u1 at right angles to u0: it fixes the plane of the great circle
    omega = torch.atan2(perp.norm(), cos)  # the angle between the directions, accurate near 0 and near π
    if perp.norm() < 1e-9:
        if cos > 0:  # the same direction: only the norm changes
            return ((1 - t) * r0 + t * r1) * u0
        # Exactly opposite: every great circle through u0 reaches u1; take the one towards the axis u0 uses least.
        axis = torch.zeros_like(u0)
        axis[u0.abs().argmin()] = 1.0
        perp = axis - torch.dot(axis, u0) * u0
    p = perp / perp.norm()
    direction = torch.cos(t * omega) * u0 + torch.sin(t * omega) * p
    return ((1 - t) * r0 + t * r1) * direction


def gaussian_grid_axis(n: int, low: float = 0.05, high: float = 0.95) -> torch.Tensor:
    """Latent values at evenly spaced quantiles of N(0,1), as in Kingma & Welling's manifold figure."""
    return torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(low, high, n))


def code_range_axis(codes: torch.Tensor, dim: int, n: int, margin: float = 0.05) -> torch.Tensor:
    """Evenly spaced values across the span of the data's codes in one dimension (for a plain AE)."""
    lo, hi = torch.quantile(codes[:, dim], torch.tensor([0.01, 0.99])).tolist()
    if hi - lo < 1e-6:  # one held-out image, or a code dimension the encoder never varies
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * margin
    return torch.linspace(lo - pad, hi + pad, n)
