"""Pictures and figures of the Hidden-unit features page, as plain arrays (no streamlit, so they test directly).

The numbers behind them come from models/analysis/decodings.py (the decodings), models/analysis/unit_features.py (each unit) and
models/analysis/tied_untied.py (tied against untied).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np

from models.autoencoders import Autoencoder
from ui.pictures import STRETCH_PERCENTILE, enlarge, percentile_stretch, tile, to_uint8, zoom_factor

# The unit grids' tabs on the Features page; the label is the tab's value in the URL (?tab=…), so About links to it.
# The first is the default: decoder columns look like strokes; an untied encoder's rows look like noise.
VIEWS = {
    "decoder": "Decoder columns w′ᵢ",
    "encoder": "Encoder rows wᵢ",
    "decoded": "Decode eᵢ with g",
    "inverse": "f⁻¹ at the output",
    "max_input": "Max-activating input",
}

# Pixels where f⁻¹ is undefined: below f's range (f⁻¹ → −∞) and above it (f⁻¹ → +∞). Blue/orange read
# apart for colour-blind viewers too.
BELOW_COLOUR = (31, 119, 180)
ABOVE_COLOUR = (255, 127, 14)
NAN_COLOUR = (204, 121, 167)  # NaN: no value at all (Okabe–Ito reddish purple)
MAX_GRID_UNITS = 100  # a 10×10 tile; a wider model shows its first 100 units in the grids


def _ordinal(q: float) -> str:
    text = f"{q:g}"
    if "." in text or "e" in text or text.endswith(("11", "12", "13")):
        return f"{text}th"
    return text + {"1": "st", "2": "nd", "3": "rd"}.get(text[-1], "th")


# How the weight and decode tiles are stretched (ui/pictures.percentile_stretch), in the captions' words. Not
# min…max: a converged untied encoder grows |w| ≈ 5 on the rarely lit border pixels against ≈ 1 inside, and a
# min…max stretch would leave the inside flat grey.
TILE_STRETCH = f"its own {_ordinal(STRETCH_PERCENTILE)}–{_ordinal(100 - STRETCH_PERCENTILE)} percentile"


# --- pictures -------------------------------------------------------------------------------------------
def signed_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) or (N, H, W) → uint8 (N, H, W) with 0 at mid-grey: each image scaled by its own max |x|,
    so white is the most positive pixel and black the most negative (the sign matters for an input)."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 4:
        array = array.mean(axis=1)
    scale = np.abs(array).max(axis=(1, 2), keepdims=True)
    return to_uint8((0.5 + 0.5 * array / np.where(scale > 1e-12, scale, 1.0))[:, None])  # N×1×H×W keeps N


def change_rgb(before: np.ndarray, after: np.ndarray) -> tuple[np.ndarray, float]:
    """after − before as uint8 (N, H, W, 3) grey, mid-grey 0, white brighter, black darker, every image on one
    scale (the largest |change| over them all, returned with it) so a small change looks small."""
    change = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    change = change.mean(axis=1) if change.ndim == 4 else change
    scale = float(np.abs(change).max()) if change.size else 0.0
    grey = to_uint8((0.5 + 0.5 * change / (scale if scale > 1e-12 else 1.0))[:, None])
    return np.repeat(grey[..., None], 3, axis=-1), scale


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


def painted_rgb(images: np.ndarray, stretch: bool = False) -> np.ndarray:
    """(N, C, H, W) raw decodes → uint8 (N, H, W, 3): finite pixels in grey, clipped to [0, 1] (or, with
    stretch, each image stretched over TILE_STRETCH of its finite pixels, clipped beyond), and the non-finite
    ones painted: +inf orange, −inf blue, NaN purple. Several channels are averaged first (a NaN or inf in any
    one shows)."""
    values = np.asarray(images, dtype=np.float64)
    values = values.mean(axis=1) if values.ndim == 4 else values
    finite = np.isfinite(values)
    shown = percentile_stretch(values) if stretch else values
    grey = to_uint8(np.where(finite, shown, 0.0)[:, None])
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    rgb[np.isposinf(values)] = ABOVE_COLOUR
    rgb[np.isneginf(values)] = BELOW_COLOUR
    rgb[np.isnan(values)] = NAN_COLOUR
    return rgb


def rgb_rows(rows: Sequence[np.ndarray], per_row: int, target: int, pad: int = 2) -> np.ndarray:
    """Rows of uint8 (N, H, W, 3) pictures, each cut to `per_row`, stacked into one enlarged RGB picture."""
    pictures = np.concatenate([np.asarray(r)[:per_row] for r in rows])
    channels = [tile(pictures[..., c], per_row, pad=pad) for c in range(3)]
    return enlarge_picture(np.stack(channels, axis=-1), zoom_factor(channels[0].shape[1], target))


def gap_axis_range(curves: Mapping[str, object], headroom: float = 0.3) -> tuple[float, float] | None:
    """A loss axis that shows the gap between converged curves rather than the first epochs' drop: from 10%
    below the lowest loss any curve reaches to `headroom` above the highest kept (or last) held-out loss.
    None when there is no curve."""
    if not curves:
        return None
    low = min(min(c.train + c.heldout) for c in curves.values())
    kept = [c.heldout[c.epochs.index(c.best_epoch)] if c.best_epoch is not None else c.heldout[-1]
            for c in curves.values()]
    return 0.9 * low, (1 + headroom) * max(kept)


def learning_curves_figure(curves: Mapping[str, object], loss: str = "BCE per image", zoom: bool = True):
    """Plotly figure: each model's train (dashed) and held-out (solid) loss per epoch, its kept epoch circled.
    `curves` maps a model's title to a models.analysis.tied_untied.Curve. With zoom, the loss axis is
    gap_axis_range: the first epochs' much higher losses run off the top."""
    from ui import pandas_first  # noqa: F401 (before plotly: see that module)
    import plotly.graph_objects as go  # noqa: PLC0415

    fig = go.Figure()
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]
    for (title, curve), colour in zip(curves.items(), colours * 2):
        title = html.escape(title)  # plotly reads a little HTML in trace names; a title is shown as written
        fig.add_trace(go.Scatter(x=curve.epochs, y=curve.heldout, name=f"{title}: held-out", mode="lines",
                                 line=dict(color=colour)))
        fig.add_trace(go.Scatter(x=curve.epochs, y=curve.train, name=f"{title}: train", mode="lines",
                                 line=dict(color=colour, dash="dash")))
        if curve.best_epoch is not None:
            i = curve.epochs.index(curve.best_epoch)
            fig.add_trace(go.Scatter(x=[curve.best_epoch], y=[curve.heldout[i]], mode="markers+text",
                                     text=[f"{curve.heldout[i]:.1f}"], textposition="top center",
                                     name=f"{title}: kept epoch {curve.best_epoch}",
                                     marker=dict(color=colour, size=11, symbol="circle-open", line=dict(width=2))))
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="epoch", yaxis_title=loss,
                      legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    span = gap_axis_range(curves) if zoom else None
    if span is not None:
        fig.update_yaxes(range=list(span))
    return fig


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
