"""How close one set of images is to another: mean PSNR and SSIM, as the Denoising page reports them."""

from __future__ import annotations

import numpy as np
import torch

PSNR_CAP = 100.0  # dB: a perfect match would be infinite


def image_quality(clean: torch.Tensor, other: torch.Tensor) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM of `other` against `clean`, images in [0,1], via scikit-image."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity  # noqa: PLC0415

    a = clean.detach().cpu().numpy().reshape(len(clean), *clean.shape[-2:]).astype(np.float64)
    b = other.detach().cpu().numpy().reshape(len(other), *other.shape[-2:]).astype(np.float64).clip(0, 1)
    psnr = [peak_signal_noise_ratio(x, y, data_range=1.0) for x, y in zip(a, b)]
    ssim = [structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b)]
    return float(np.mean(np.minimum(psnr, PSNR_CAP))), float(np.mean(ssim))
