"""The Latent page's decoded grid with its z values on the axes, drawn into the picture itself (no streamlit
here, so it tests directly). A PNG scales with its column like every other picture on the page, and its labels
with it; ticks sit at cell centres and read z1 along the bottom, z2 up the left side."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ui.pictures import enlarge, tile

MAX_TICKS = 8  # labels per axis; a wider grid labels every k-th cell
INK, PAPER = 60, 255  # grey labels and ticks on white, like the page's text


def tick_cells(n: int, most: int = MAX_TICKS) -> list[int]:
    """Which of n cells get a label: evenly spaced, always the first and the last."""
    if n <= most:
        return list(range(n))
    step = math.ceil((n - 1) / (most - 1))
    cells = list(range(0, n, step))
    if cells[-1] != n - 1:
        if n - 1 - cells[-1] < step / 2:
            cells[-1] = n - 1  # too close to the last cell: its label would collide
        else:
            cells.append(n - 1)
    return cells


def labelled_grid(cells: np.ndarray, xs: Sequence[float], ys: Sequence[float], factor: int = 1,
                  pad: int = 1) -> np.ndarray:
    """cells: uint8 (rows, cols, H, W) decodes, row 0 at the largest y (Autoencoder.decode_grid); xs increase
    left to right, ys bottom to top. Returns uint8 (H', W'): the tiled grid, enlarged by `factor`, with tick
    marks and labels on a white margin to the left and below."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415

    rows, cols, h, w = cells.shape
    picture = enlarge(tile(cells.reshape(rows * cols, h, w), cols, pad=pad), factor)
    size = max(12, round(picture.shape[1] * 0.028))  # the labels scale with the picture, as shown
    font = ImageFont.load_default(size=size)
    y_labels = {r: f"{ys[rows - 1 - r]:.2f}" for r in tick_cells(rows)}  # picture row r is the r-th largest y
    x_labels = {c: f"{xs[c]:.2f}" for c in tick_cells(cols)}
    tick = max(4, size // 3)
    label_w = max(font.getbbox(t)[2] for t in y_labels.values())
    left = size + 2 * tick + label_w + tick  # "z2", a gap, the labels, the tick marks
    bottom = tick + size + tick + size + tick  # tick marks, labels, a gap, "z1"
    right = max(font.getbbox(t)[2] for t in x_labels.values()) // 2 + 2  # the last label's overhang
    top = size // 2  # the top label's overhang
    canvas = Image.new("L", (left + picture.shape[1] + right, top + picture.shape[0] + bottom), PAPER)
    canvas.paste(Image.fromarray(picture), (left, top))
    draw = ImageDraw.Draw(canvas)
    pitch_x, pitch_y = (w + pad) * factor, (h + pad) * factor
    base = top + picture.shape[0]
    for c, text in x_labels.items():
        x = left + c * pitch_x + w * factor / 2
        draw.line([(x, base), (x, base + tick)], fill=INK, width=max(1, size // 10))
        draw.text((x, base + tick + 1), text, fill=INK, font=font, anchor="ma")
    for r, text in y_labels.items():
        y = top + r * pitch_y + h * factor / 2
        draw.line([(left - tick, y), (left - 1, y)], fill=INK, width=max(1, size // 10))
        draw.text((left - tick - 2, y), text, fill=INK, font=font, anchor="rm")
    draw.text((left + picture.shape[1] / 2, canvas.height - tick), "z1", fill=INK, font=font, anchor="ms")
    z2 = Image.new("L", (size * 2, size + 4), PAPER)
    ImageDraw.Draw(z2).text((size, (size + 4) / 2), "z2", fill=INK, font=font, anchor="mm")
    canvas.paste(z2.rotate(90, expand=True), (tick // 2, top + picture.shape[0] // 2 - size))
    return np.asarray(canvas)
