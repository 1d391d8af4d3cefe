"""Configuration dataclasses. A model is built only from a ModelConfig, and the config is saved beside
the weights, so every checkpoint says how to rebuild its model."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from models.errors import ConfigError

KINDS = ("ae", "vae")
ARCHS = ("dense", "conv")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
OUTPUT_ACTIVATIONS = ("auto", "sigmoid", "tanh", "identity")  # tanh: x̂ in (−1,1), for f = g = tanh
LOSSES = ("bce", "mse")
NOISES = ("none", "gaussian", "masking", "salt_pepper")
SPARSITIES = ("none", "l1", "kl")
LR_SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "bfloat16")  # bfloat16: mixed precision, bf16 matmuls under autocast, float32 weights

# Bounds that keep one request from eating a shared 2-core server; far above anything useful here.
MAX_LATENT = 1024
MAX_WIDTH = 4096
MAX_LAYERS = 6
MAX_PIXELS = 128 * 128
MAX_CHANNELS = 4
MAX_SHIFT = 8  # pixels of random shift augmentation


@dataclass
class ModelConfig:
    kind: str = "ae"  # "ae" or "vae"
    arch: str = "dense"  # "dense" (Linear layers) or "conv" (Conv2d / ConvTranspose2d)
    input_shape: tuple[int, int, int] = (1, 28, 28)  # C, H, W
    hidden: tuple[int, ...] = (256,)  # dense: hidden widths (empty = classic single layer); conv: channels
    latent: int = 2
    activation: str = "relu"  # hidden layers
    code_activation: str = "identity"  # the code h = f(Wx + b); a VAE's code is always identity
    output_activation: str = "auto"  # auto: sigmoid for BCE, identity for MSE; or sigmoid, tanh, identity
    tied: bool = False  # dense only: decoder uses the transpose of each encoder weight
    loss: str = "bce"  # "bce" for pixels in [0,1], "mse" for ½‖x−x̂‖²
    beta: float = 1.0  # VAE: weight of the KL term
    noise: str = "none"  # denoising: corruption applied to the input while training
    noise_level: float = 0.0  # Gaussian σ, or the fraction of pixels masked / salted
    sparsity: str = "none"  # "l1" on the code, or "kl" to a target mean activation
    sparsity_weight: float = 0.0
    sparsity_target: float = 0.05  # ρ for the KL penalty
    contractive_weight: float = 0.0  # λ on ‖∂h/∂x‖²_F
    conv_dense: int = 0  # conv only: a dense layer of this width between the conv features and the code (0: none)

    def __post_init__(self) -> None:
        # JSON gives lists; keep tuples so configs compare the same after a round trip. Coercing here turns
        # a hand-edited "latent": "two" into a ConfigError instead of a TypeError deep inside torch.
        _coerce(self, int_fields=("latent", "conv_dense"), float_fields=("beta", "noise_level", "sparsity_weight",
                                                              "sparsity_target", "contractive_weight"))
        # The same rule as latent: hidden [8.7] is refused, not truncated to 8.
        self.input_shape = _whole_numbers("input_shape", self.input_shape)
        self.hidden = _whole_numbers("hidden", self.hidden)
        if not isinstance(self.tied, bool):
            raise ConfigError(f"tied must be true or false, got {brief(self.tied)}")

    @property
    def input_dim(self) -> int:
        c, h, w = self.input_shape
        return c * h * w

    @property
    def resolved_output_activation(self) -> str:
        if self.output_activation != "auto":
            return self.output_activation
        return "sigmoid" if self.loss == "bce" else "identity"

    @property
    def single_layer(self) -> bool:
        return self.arch == "dense" and not self.hidden

    def validate(self) -> "ModelConfig":
        """Raise ConfigError naming the first bad setting; return self so calls chain."""
        _choice("kind", self.kind, KINDS)
        _choice("arch", self.arch, ARCHS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("code_activation", self.code_activation, ACTIVATIONS)
        _choice("output_activation", self.output_activation, OUTPUT_ACTIVATIONS)
        _choice("loss", self.loss, LOSSES)
        _choice("noise", self.noise, NOISES)
        _choice("sparsity", self.sparsity, SPARSITIES)
        if len(self.input_shape) != 3:
            raise ConfigError(f"input_shape must be (channels, height, width), got {brief(list(self.input_shape))}")
        c, h, w = self.input_shape
        if not 1 <= c <= MAX_CHANNELS or min(h, w) < 4 or h * w > MAX_PIXELS:
            raise ConfigError(
                f"input_shape {self.input_shape} is out of range: 1-{MAX_CHANNELS} channels, "
                f"each side at least 4 pixels, at most {MAX_PIXELS} pixels"
            )
        if not 1 <= self.latent <= MAX_LATENT:
            raise ConfigError(f"latent size must be between 1 and {MAX_LATENT}, got {self.latent}")
        if len(self.hidden) > MAX_LAYERS:
            raise ConfigError(f"at most {MAX_LAYERS} hidden layers, got {len(self.hidden)}")
        if any(not 1 <= width <= MAX_WIDTH for width in self.hidden):
            raise ConfigError(f"hidden sizes must be between 1 and {MAX_WIDTH}, got {list(self.hidden)}")
        if self.arch == "conv":
            if not self.hidden:
                raise ConfigError("a convolutional model needs at least one channel count in hidden, e.g. (32, 64)")
            if any(width > 256 for width in self.hidden):
                raise ConfigError(f"conv channel counts must be at most 256, got {list(self.hidden)}")
            if self.tied:
                raise ConfigError("tied weights apply to dense layers only; use arch='dense' or tied=False")
            if not 0 <= self.conv_dense <= MAX_WIDTH:
                raise ConfigError(f"conv_dense must be between 0 (none) and {MAX_WIDTH}, got {self.conv_dense}")
        elif self.conv_dense:
            raise ConfigError("conv_dense adds a dense layer to a convolutional model: use arch='conv' or 0")
        if self.kind == "vae" and self.code_activation != "identity":
            raise ConfigError("a VAE's code is the Gaussian mean: code_activation must be 'identity'")
        if self.loss == "bce" and self.resolved_output_activation != "sigmoid":
            raise ConfigError("binary cross-entropy needs outputs in (0,1): use output_activation 'sigmoid' or 'auto'")
        for name in ("beta", "noise_level", "sparsity_weight", "contractive_weight"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or value > 1000:
                raise ConfigError(f"{name} must be a number between 0 and 1000, got {value}")
        if self.noise in ("masking", "salt_pepper") and self.noise_level > 1:
            raise ConfigError(f"{self.noise} noise level is a fraction of pixels: between 0 and 1, "
                              f"got {self.noise_level}")
        if self.noise == "gaussian" and self.noise_level > 5:
            raise ConfigError(f"Gaussian noise σ must be at most 5 for pixels in [0,1], got {self.noise_level}")
        if self.sparsity == "kl":
            if self.code_activation != "sigmoid":
                raise ConfigError("the KL sparsity penalty needs codes in (0,1): set code_activation='sigmoid'")
            if not 0 < self.sparsity_target < 1:
                raise ConfigError(f"sparsity_target ρ must lie strictly between 0 and 1, got {self.sparsity_target}")
        return self

    def to_dict(self) -> dict:
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        return _from_dict(cls, data)


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    max_seconds: float | None = None  # wall-clock cap, so one user cannot hold a shared server
    weight_decay: float = 0.0
    threads: int | None = None  # torch CPU threads while training (None: leave as is)
    patience: int | None = None  # early stop after this many epochs without a better held-out loss
    lr_schedule: str = "constant"  # or "cosine": decay to 0 over the epochs
    kl_warmup: int = 0  # VAE: epochs over which β ramps up linearly from 0
    shift: int = 0  # augmentation: move each training image by up to ±shift pixels
    ema: float = 0.0  # keep an exponential moving average of the weights with this decay (0: off)
    precision: str = "float32"  # or "bfloat16": the training steps' matmuls in bf16 (autocast); weights float32

    def __post_init__(self) -> None:
        _coerce(self, int_fields=("epochs", "batch_size", "seed", "kl_warmup", "shift"),
                float_fields=("lr", "weight_decay", "ema"))
        if self.max_seconds is not None:
            _coerce(self, float_fields=("max_seconds",))
        if self.patience is not None:
            _coerce(self, int_fields=("patience",))

    def validate(self, max_epochs: int = 10_000) -> "TrainConfig":
        if not 1 <= self.epochs <= max_epochs:
            raise ConfigError(f"epochs must be between 1 and {max_epochs}, got {self.epochs}")
        if not 1 <= self.batch_size <= 65536:
            raise ConfigError(f"batch size must be between 1 and 65536, got {self.batch_size}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 10):
            raise ConfigError(f"learning rate must be a positive number up to 10, got {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight decay must be a non-negative number, got {self.weight_decay}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ConfigError(f"time cap must be positive seconds, got {self.max_seconds}")
        if self.patience is not None and not 1 <= self.patience <= max_epochs:
            raise ConfigError(f"patience must be between 1 and {max_epochs} epochs, got {self.patience}")
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _choice("precision", self.precision, PRECISIONS)
        if not 0 <= self.kl_warmup <= max_epochs:
            raise ConfigError(f"KL warm-up must be between 0 and {max_epochs} epochs, got {self.kl_warmup}")
        if not 0 <= self.shift <= MAX_SHIFT:
            raise ConfigError(f"shift augmentation must be between 0 and {MAX_SHIFT} pixels, got {self.shift}")
        if not (math.isfinite(self.ema) and 0 <= self.ema < 1):
            raise ConfigError(f"weight averaging (EMA) decay must be at least 0 and below 1, got {self.ema}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        return _from_dict(cls, data)


def _choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {brief(value)}")


MAX_WHOLE = 2**53  # any count or seed here is far smaller; beyond it a float no longer holds every integer


def brief(value, limit: int = 40) -> str:
    """A value as an error message quotes it: a hand-edited JSON can hold a megabyte string or a
    4,000-digit number, and the message must stay one line."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a number about {value.bit_length() * math.log10(2):,.0f} digits long"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _whole(name: str, value) -> int:
    """2 and 2.0 pass; 2.5, true, "2", NaN and numbers beyond 2**53 are refused with one message."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
        raise ConfigError(f"{name} must be a whole number, got {brief(value)}")
    if abs(value) > MAX_WHOLE:
        raise ConfigError(f"{name} is far out of range: {brief(value)}")
    return int(value)


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {brief(value)}")
    try:
        return float(value)
    except OverflowError:  # an int too large for a float: float() raises instead of giving inf
        raise ConfigError(f"{name} is far out of range: {brief(value)}") from None


def _whole_numbers(name: str, values) -> tuple[int, ...]:
    if not isinstance(values, (list, tuple)):  # a string "256" would otherwise iterate to (2, 5, 6)
        raise ConfigError(f"{name} must be a list of whole numbers, got {brief(values)}")
    return tuple(_whole(f"each {name} entry", v) for v in values)


def _coerce(obj, int_fields=(), float_fields=()) -> None:
    for name in int_fields:
        setattr(obj, name, _whole(name, getattr(obj, name)))
    for name in float_fields:
        setattr(obj, name, _number(name, getattr(obj, name)))


def _from_dict(cls, data):
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        listed = ", ".join(brief(name) for name in unknown[:5])
        listed += f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else ""
        raise ConfigError(f"unknown {cls.__name__} field(s): {listed}")
    try:
        return cls(**data)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid {cls.__name__}: {exc}") from exc


