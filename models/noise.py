"""Input corruptions for denoising autoencoders and the denoising demo. Pixels are in [0,1]."""

from __future__ import annotations

import torch

from models.errors import ConfigError

NOISE_TYPES = ("gaussian", "masking", "salt_pepper")


def corrupt(x: torch.Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Return a corrupted copy of x; x itself is never changed.

    gaussian: x + σ·ε clipped to [0,1] (level = σ); masking: a fraction `level` of pixels set to 0;
    salt_pepper: a fraction `level` of pixels set to 0 or 1 with equal odds.
    """
    if kind in ("none", None) or level == 0:
        return x.clone()
    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return (x + level * noise).clamp(0.0, 1.0)
    if not 0 <= level <= 1:
        raise ConfigError(f"{kind} level is a fraction of pixels between 0 and 1, got {level}")
    hit = torch.rand(x.shape, generator=generator, device=x.device) < level
    if kind == "masking":
        return x.masked_fill(hit, 0.0)
    if kind == "salt_pepper":
        salt = (torch.rand(x.shape, generator=generator, device=x.device) < 0.5).to(x.dtype)
        return torch.where(hit, salt, x)
    raise ConfigError(f"noise type must be one of {', '.join(NOISE_TYPES)}; got {kind!r}")
