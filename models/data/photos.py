"""A user's photo or drawing turned into a model input: decoded, made grey, its background removed and, for
digits, centred in 20×20 inside 28×28 as MNIST was."""

from __future__ import annotations

import numpy as np
import torch

from models.data.images import decode_image
from models.errors import DataError

MNIST_BOX, MNIST_SIDE = 20, 28  # MNIST fits each digit's bounding box into 20×20 inside 28×28
INK_THRESHOLD = 0.1  # a pixel brighter than this (of the brightest) counts as part of the digit


def light_background(gray: np.ndarray) -> bool:
    """True when the image's border is mostly light, as for dark ink on paper."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) > 0.5


def resize(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float H×W → float `size` (h, w), antialiased."""
    from PIL import Image  # noqa: PLC0415

    h, w = size
    picture = Image.fromarray(gray.astype(np.float32), mode="F")
    return np.asarray(picture.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=None), dtype=np.float32)


def centre_crop(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The largest centred crop with the aspect ratio of `size`, so resizing does not squash a face."""
    h, w = gray.shape
    target = size[1] / size[0]
    if w / h > target:
        new_w = max(1, round(h * target))
        left = (w - new_w) // 2
        return gray[:, left:left + new_w]
    new_h = max(1, round(w / target))
    top = (h - new_h) // 2
    return gray[top:top + new_h]


def remove_background(ink: np.ndarray) -> np.ndarray:
    """Paper is never pure black (after inversion) nor even: everything within a few robust standard
    deviations of the typical (median) level becomes 0, and the rest is stretched to reach 1."""
    background = float(np.median(ink))
    spread = 1.4826 * float(np.median(np.abs(ink - background)))  # the MAD, scaled to a standard deviation
    floor = background + 3 * spread
    peak = float(ink.max())
    if peak - floor <= 0.05:
        raise DataError("no digit stands out from the background: use a darker pen or a plainer background")
    return np.clip((ink - floor) / (peak - floor), 0.0, 1.0)


def centre_digit(ink: np.ndarray, size: tuple[int, int] = (MNIST_SIDE, MNIST_SIDE)) -> np.ndarray:
    """Light-on-dark float image of a digit → MNIST layout: its bounding box scaled to fit 20×20 (for 28×28;
    proportionally for other sizes), placed so its centre of mass sits at the centre. DataError when blank."""
    peak = float(ink.max()) if ink.size else 0.0
    if peak <= 0.05:
        raise DataError("the image is blank: there is no digit to read")
    rows = np.flatnonzero((ink > INK_THRESHOLD * peak).any(1))
    cols = np.flatnonzero((ink > INK_THRESHOLD * peak).any(0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] / peak
    h, w = size
    box = max(1, round(min(h, w) * MNIST_BOX / MNIST_SIDE))
    scale = box / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    digit = np.clip(resize(crop, (new_h, new_w)), 0.0, 1.0)
    digit /= max(float(digit.max()), 1e-6)  # thin strokes fade when shrunk; MNIST strokes reach full white
    mass = digit.sum()
    cy, cx = ((np.arange(new_h) @ digit.sum(1)) / mass, (np.arange(new_w) @ digit.sum(0)) / mass) if mass > 0 \
        else ((new_h - 1) / 2, (new_w - 1) / 2)
    top = int(np.clip(round((h - 1) / 2 - cy), 0, h - new_h))
    left = int(np.clip(round((w - 1) / 2 - cx), 0, w - new_w))
    out = np.zeros(size, dtype=np.float32)
    out[top:top + new_h, left:left + new_w] = digit
    return out


def prepare_upload(data: bytes, name: str, input_shape: tuple[int, int, int],
                   digits: bool) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    """A user's photo → (model input 1×C×H×W, the photo as uploaded in gray, notes on what was done to it).

    digits: make it look like MNIST (light digit on black, centred by mass); else crop and resize only.
    """
    gray = decode_image(data, name)
    c, h, w = input_shape
    notes = ["converted to grayscale"]
    if digits:
        # Averaging down to a few times the model's size first keeps camera noise out of the digit's bounding box.
        scale = min(1.0, 4 * max(h, w) / max(gray.shape))
        ink = resize(gray, (max(1, round(gray.shape[0] * scale)), max(1, round(gray.shape[1] * scale))))
        if light_background(ink):
            ink = 1.0 - ink
            notes.append("inverted (light background: MNIST digits are light on black)")
        x = centre_digit(remove_background(ink), (h, w))
        notes.append(f"background set to black, digit fitted and centred in {h}×{w} as in MNIST")
    else:
        x = np.clip(resize(centre_crop(gray, (h, w)), (h, w)), 0.0, 1.0)
        notes.append(f"centre-cropped and resized to {h}×{w}")
    return to_input(x, c), gray, notes


def drawing_to_input(rgba: np.ndarray | None, input_shape: tuple[int, int, int]) -> torch.Tensor | None:
    """The canvas's RGBA drawing (white strokes on black) → model input 1×C×H×W, or None if nothing is drawn."""
    if rgba is None:
        return None
    pixels = np.asarray(rgba, dtype=np.float32) / 255.0
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        raise DataError(f"the drawing came back with shape {pixels.shape}, not height×width×RGBA")
    ink = pixels[..., :3].mean(2) * (pixels[..., 3] if pixels.shape[2] == 4 else 1.0)
    if ink.max() <= 0.05:
        return None
    c, h, w = input_shape
    return to_input(centre_digit(ink, (h, w)), c)


def to_input(gray: np.ndarray, channels: int) -> torch.Tensor:
    """float H×W → float32 1×C×H×W tensor (gray repeated over the model's channels)."""
    return torch.from_numpy(np.ascontiguousarray(gray, dtype=np.float32))[None, None].repeat(1, channels, 1, 1)
