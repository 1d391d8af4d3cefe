"""The two ends of the Latent page's interpolation (no streamlit, so it tests directly): a held-out image, a class's
mean code, or a point on the plane; how each reads from and writes to the URL (?a=7, ?a=class:3, ?a=1.2,-0.4);
its code; and where a path of codes falls on the plane.

A point is in the plane's coordinates: (z1, z2) for a 2-D code, (PC1, PC2) in latent units for a wider one, whose
other principal directions stay at the mean code. Old links name held-out indices (?a=7) and keep working.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from models.analysis.latent import class_mean_code
from ui.latent_plane.payload import PlaneSpec

KINDS = {"image": "Held-out image", "class": "Class mean", "point": "Point on the plane"}
CLASS_PREFIX = "class:"


@dataclass(frozen=True)
class End:
    kind: str  # a key of KINDS
    index: int = 0  # the held-out image's index, or the class
    point: tuple[float, float] = (0.0, 0.0)  # plane coordinates, for kind "point"


def parse_end(text: str | None, count: int, present: Sequence[int] = ()) -> End | None:
    """An end from the URL: "7" (a held-out index, clamped to 0…count−1 as the old links were), "class:3" (a class
    with held-out images: `present`), "1.2,-0.4" (a point); None for anything else."""
    text = (text or "").strip()
    if text.startswith(CLASS_PREFIX):
        number = _finite(text[len(CLASS_PREFIX):])
        if number is None or number != int(number) or int(number) not in present:
            return None
        return End("class", int(number))
    if "," in text:
        parts = [_finite(part) for part in text.split(",")]
        if len(parts) != 2 or None in parts:
            return None
        return End("point", point=(parts[0], parts[1]))
    number = _finite(text)
    if number is None or count < 1:
        return None
    return End("image", min(max(round(number), 0), count - 1))


def end_text(end: End) -> str:
    """The URL's form of an end, which parse_end reads back."""
    if end.kind == "class":
        return f"{CLASS_PREFIX}{end.index}"
    if end.kind == "point":
        return ",".join(point_text(v) for v in end.point)
    return str(end.index)


def point_text(value: float) -> str:
    """A plane coordinate as the URL keeps it: four significant digits, so a link reproduces the point it shows."""
    return f"{value:.4g}"


def rounded_point(x: float, y: float) -> tuple[float, float]:
    """A clicked point, rounded as the URL keeps it (a link then opens exactly the path it drew)."""
    return float(point_text(x)), float(point_text(y))


def end_code(end: End, codes: torch.Tensor, labels: torch.Tensor | None, plane: PlaneSpec | None) -> torch.Tensor:
    """The code of an end: the image's code, the class's mean code, or base + x·v1 + y·v2 for a point (an end this
    model cannot have, a class it has no image of or a point with no plane, falls back to the image `index`)."""
    if end.kind == "class" and labels is not None:
        mean = class_mean_code(codes, labels, end.index)
        if mean is not None:
            return mean
    if end.kind == "point" and plane is not None:
        x, y = end.point
        return (torch.tensor(plane.base) + x * torch.tensor(plane.v1) + y * torch.tensor(plane.v2)).float()
    return codes[min(max(end.index, 0), len(codes) - 1)].float()


def on_plane(path: torch.Tensor, plane: PlaneSpec) -> list[list[float]]:
    """Where codes (n, latent) fall on the plane: ((z − base)·v1, (z − base)·v2), for drawing a path over it."""
    offset = path.double() - torch.tensor(plane.base, dtype=torch.float64)
    directions = torch.tensor([plane.v1, plane.v2], dtype=torch.float64)
    return (offset @ directions.T).tolist()


def end_name(end: End, class_name: str = "") -> str:
    """How a caption names an end (class_name: the class's label, e.g. "3" or "person 7")."""
    if end.kind == "class":
        return f"mean code of class {class_name or end.index}"
    if end.kind == "point":
        return "point (" + ", ".join(f"{v:.2f}" for v in end.point) + ") on the plane"
    return f"held-out #{end.index}"


def file_part(end: End) -> str:
    """An end in a download's file name: "7", "class3", "pt1.2_-0.4"."""
    if end.kind == "class":
        return f"class{end.index}"
    if end.kind == "point":
        return "pt" + "_".join(point_text(v) for v in end.point)
    return str(end.index)


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
