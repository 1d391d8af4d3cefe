"""What the latent plane receives once per model: a binary payload (no streamlit here, so it tests directly).

Layout: b"AEX1", a little-endian uint32 header length, the JSON header, then the buffers the header lists, each
4-byte aligned, with offsets counted from header["blob_start"]. decoder.js reads exactly this. The weights are
float32, or float16 when the program's are (a big decoder's live frames: DecoderProgram.frame_weights), which
decoder.js widens to float32 before the kernels see them.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from models.analysis.palette import NEUTRAL_COLOUR, class_colours
from models.decoder_program import DecoderProgram

MAGIC = b"AEX1"


@dataclass(frozen=True)
class PlaneSpec:
    """How plane coordinates (x, y) map to a code: z = base + x·v1 + y·v2 (base comes from Python's sliders)."""

    mode: str  # "latent": the two code dimensions themselves; "pca": the first two principal directions
    x_label: str
    y_label: str
    extent: tuple[float, float, float, float]  # x0, x1, y0, y1 of the drawn plane
    bounds: tuple[float, float, float, float]  # where a pin may go (the sliders' ranges)
    step: tuple[float, float]  # one arrow-key move (the sliders' steps)
    start: tuple[float, float]  # where the arrow keys start when nothing is pinned
    v1: tuple[float, ...]
    v2: tuple[float, ...]
    base: tuple[float, ...]
    std: tuple[float, float] = (1.0, 1.0)  # "pca": σ along each direction, for readouts in σ
    grid: tuple[float, float, float, float] | None = None  # extent of the decoded grid, drawn dashed


def pack(plane_id: str, title: str, program: DecoderProgram, plane: PlaneSpec, xy: np.ndarray, codes: np.ndarray,
         labels: np.ndarray | None, label_names: Sequence[str] | None, thumbs: np.ndarray | None,
         sigma: np.ndarray | None = None, ellipses: np.ndarray | None = None) -> bytes:
    """xy (N, 2) plane coordinates of the held-out codes, codes (N, latent), labels (N,) or None,
    thumbs uint8 (N, H, W): the held-out images, shown beside the decode as the nearest one (None: not shown,
    e.g. for a frame of a model while it trains). A VAE's posterior q(z|x) = N(codes, diag sigma²): sigma (N, latent)
    and its 1-σ ellipse on the plane, ellipses (N, 3) rows [major, minor, angle] (models/analysis/posterior.py);
    None (a plain AE, a live frame): empty buffers."""
    n = len(codes)
    _check_finite(plane)
    buffers = {
        "weights": program.weights if program.weights.dtype == np.float16 else np.asarray(program.weights,
                                                                                            np.float32),
        "xy": np.asarray(xy, np.float32).reshape(n, 2),
        "codes": np.asarray(codes, np.float32).reshape(n, program.latent),
        "labels": (np.full(n, -1) if labels is None else np.asarray(labels)).astype(np.int16),
        "thumbs": np.zeros(0, np.uint8) if thumbs is None else np.asarray(thumbs, np.uint8).reshape(
            n, *program.image_shape[1:]),
        "sigma": np.zeros(0, np.float32) if sigma is None else np.asarray(sigma, np.float32).reshape(n, program.latent),
        "ellipses": np.zeros(0, np.float32) if ellipses is None else np.asarray(ellipses, np.float32).reshape(n, 3),
    }
    specs, blob, offset = {}, [], 0
    for name, array in buffers.items():
        raw = np.ascontiguousarray(array).tobytes()
        dtype = {np.float32: "f32", np.float16: "f16", np.int16: "i16", np.uint8: "u8"}[array.dtype.type]
        specs[name] = {"dtype": dtype, "offset": offset, "length": int(array.size)}
        padded = raw + b"\0" * (-len(raw) % 4)
        blob.append(padded)
        offset += len(padded)
    header = {"id": plane_id, "title": title, "count": n, "label_names": list(label_names or []),
              "class_colours": _colours(labels, label_names), "neutral_colour": NEUTRAL_COLOUR,
              "program": {"ops": program.ops, "latent": program.latent, "image_shape": list(program.image_shape)},
              "plane": asdict(plane), "buffers": specs, "blob_start": 0}
    text = json.dumps(header, separators=(",", ":"))
    # blob_start depends on the header's own length: settle it, then pad so the blob starts 4-byte aligned.
    for _ in range(3):
        header["blob_start"] = _aligned(8 + len(text.encode()))
        text = json.dumps(header, separators=(",", ":"))
    encoded = text.encode()
    start = header["blob_start"]
    if 8 + len(encoded) > start:
        raise ValueError("payload header did not settle")
    return MAGIC + struct.pack("<I", len(encoded)) + encoded + b" " * (start - 8 - len(encoded)) + b"".join(blob)


def unpack(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The inverse of pack (for tests and for checking what a browser receives)."""
    if data[:4] != MAGIC:
        raise ValueError("not a latent-plane payload")
    (length,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8:8 + length])
    blob = data[header["blob_start"]:]
    types = {"f32": np.float32, "f16": np.float16, "i16": np.int16, "u8": np.uint8}
    arrays = {name: np.frombuffer(blob, types[spec["dtype"]], spec["length"], spec["offset"])
              for name, spec in header["buffers"].items()}
    return header, arrays


def _colours(labels: np.ndarray | None, label_names: Sequence[str] | None) -> list[str]:
    """One colour per class (models/analysis/palette.py), or none: unlabelled codes, or more classes than colours
    can tell apart (40 people), are all drawn in the neutral colour."""
    if labels is None or not len(labels):
        return []
    count = len(label_names) if label_names else int(np.max(labels)) + 1
    return class_colours(count) or []


def _aligned(n: int) -> int:
    return n + (-n % 4)


def _check_finite(plane: PlaneSpec) -> None:
    """JSON has no NaN or inf; a plane with them could not be drawn anyway."""
    for name, value in asdict(plane).items():
        values = value if isinstance(value, (tuple, list)) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise ValueError(f"the latent plane's {name} is not finite: {value}")
