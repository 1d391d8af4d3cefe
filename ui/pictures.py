"""Plain functions that turn tensors into pictures and figures. No streamlit here, so they test directly."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
import torch

STRETCH_PERCENTILE = 1.0  # normalise="percentile": each image from its 1st to its 99th percentile


def to_uint8(images: torch.Tensor | np.ndarray, normalise: bool | str = False,
             percentile: float = STRETCH_PERCENTILE) -> np.ndarray:
    """N×C×H×W or C×H×W or H×W in [0,1] → uint8 N×H×W (or H×W). normalise=True rescales each image's own
    min..max to 0..255 (for weights and unbounded decodes, which have no natural range); normalise="percentile"
    rescales each image's own `percentile`-th…(100 − `percentile`)-th percentile instead, clipping beyond, so a
    few extreme pixels cannot squeeze the rest into a few grey levels (see percentile_stretch)."""
    if isinstance(normalise, str) and normalise != "percentile":
        raise ValueError(f"normalise must be True, False or 'percentile', not {normalise!r}")
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    array = array.astype(np.float32)
    if array.ndim == 4:
        array = array[:, 0] if array.shape[1] == 1 else array.mean(1)
    elif array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if normalise == "percentile":
        array = percentile_stretch(array, percentile)
    elif normalise:
        axes = tuple(range(array.ndim - 2, array.ndim))
        lo = array.min(axis=axes, keepdims=True)
        hi = array.max(axis=axes, keepdims=True)
        array = (array - lo) / np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def percentile_range(images: np.ndarray, percentile: float = STRETCH_PERCENTILE) -> tuple[np.ndarray, np.ndarray]:
    """Each image's (last two axes') `percentile`-th and (100 − `percentile`)-th percentile of its finite
    pixels, shaped to broadcast against `images`. An image with no finite pixel gets 0…0."""
    values = np.asarray(images, dtype=np.float64)
    axes = (values.ndim - 2, values.ndim - 1)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": an image with no finite pixel
        lo, hi = np.nanpercentile(np.where(finite, values, np.nan), [percentile, 100.0 - percentile],
                                  axis=axes, keepdims=True)
    return np.nan_to_num(lo, nan=0.0), np.nan_to_num(hi, nan=0.0)


def percentile_stretch(images: np.ndarray, percentile: float = STRETCH_PERCENTILE) -> np.ndarray:
    """A robust per-image stretch for weights and decodes: each image (last two axes) mapped from its own
    `percentile`-th…(100 − `percentile`)-th percentile to 0…1 and clipped there, so the few pixels beyond
    (rarely lit border pixels whose weights grew large) saturate instead of setting the scale. Percentiles
    count finite pixels only; +inf → 1, −inf → 0 and NaN stays NaN. A flat image (no spread between the two
    percentiles) comes out mid-grey, 0.5."""
    values = np.asarray(images, dtype=np.float64)
    lo, hi = percentile_range(values, percentile)
    span = hi - lo
    flat = span <= 1e-12 * np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))
    with np.errstate(invalid="ignore", over="ignore"):
        stretched = np.clip((values - lo) / np.where(flat, 1.0, span), 0.0, 1.0)
    return np.where(flat & np.isfinite(values), 0.5, stretched)


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so small digits stay crisp on a projector instead of blurring."""
    return image.repeat(factor, axis=-2).repeat(factor, axis=-1) if factor > 1 else image


def zoom_factor(size: int, target: int) -> int:
    """The whole-number enlargement that brings `size` pixels closest to `target` (at least 1)."""
    return max(1, round(target / max(size, 1)))


def tile(images: np.ndarray, ncols: int, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """uint8 N×H×W → one grid image with `ncols` columns."""
    n, h, w = images.shape
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    grid = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), pad_value, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = images[i]
    return grid


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(frames: np.ndarray, duration_ms: int = 120, bounce: bool = True) -> bytes:
    """uint8 N×H×W frames → an endlessly looping GIF (there and back again when bounce)."""
    from PIL import Image  # noqa: PLC0415

    sequence = list(frames) + (list(frames[-2:0:-1]) if bounce and len(frames) > 2 else [])
    pictures = [Image.fromarray(f) for f in sequence]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()


def loss_curve(history: Sequence[dict], title: str = "Loss per sample"):
    from ui import pandas_first  # noqa: F401 (before plotly: see that module)
    import plotly.graph_objects as go  # noqa: PLC0415

    epochs = [h["epoch"] for h in history]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=epochs, y=[h["train_loss"] for h in history], name="train", mode="lines+markers"))
    fig.add_trace(go.Scatter(x=epochs, y=[h["heldout_loss"] for h in history], name="held-out",
                             mode="lines+markers"))
    fig.update_layout(title=title, height=320, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="epoch",
                      yaxis_title="loss")
    fig.update_xaxes(tick0=1, dtick=max(1, -(-len(history) // 10)))  # whole epochs only
    return fig
