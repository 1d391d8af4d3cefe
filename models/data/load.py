"""load_dataset: one entry point for every dataset and source, with the name, source and size checked."""

from __future__ import annotations

import operator

from models.data.datasets import DATASETS, SOURCES, Dataset
from models.data.faces import _lfw_dataset, _load_olivetti
from models.data.images import _MAX_IMAGE_SIDE
from models.data.mnist import _TORCHVISION_FOLDER, _load_mnist_like
from models.errors import DataError


def load_dataset(name: str, source: str = "auto", data_dir: str | None = None,
                 image_size: tuple[int, int] | None = None, download: bool = False) -> Dataset:
    """Load one of DATASETS. `source`: "auto", "bundled", "local" or "download" (see the module docs
    of each loader); `image_size=(H, W)` resizes every image (bilinear, antialiased)."""
    key = _choice(name, DATASETS, "dataset")
    how = _choice(source, SOURCES, "source")
    size = None if image_size is None else _check_size(image_size)
    if key in _TORCHVISION_FOLDER:
        return _load_mnist_like(key, how, data_dir, download, size)
    if key == "olivetti":
        return _load_olivetti(how, data_dir, download, size)
    if how in ("local", "download"):
        raise DataError(f"LFW faces come bundled with scikit-image only: use source 'bundled' or 'auto', not {how!r}")
    return _lfw_dataset("offline: 100 LFW faces bundled with scikit-image", size)


def _choice(value: object, valid: tuple[str, ...], what: str) -> str:
    key = value.strip().lower().replace("_", "-") if isinstance(value, str) else None
    if key not in valid:
        raise DataError(f"unknown {what} {value!r}: choose one of {', '.join(valid)}")
    return key


def _check_size(image_size: object) -> tuple[int, int]:
    try:
        h, w = (operator.index(v) for v in image_size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise DataError(f"image_size must be a pair of whole numbers (height, width), got {image_size!r}") from None
    if not (1 <= h <= _MAX_IMAGE_SIDE and 1 <= w <= _MAX_IMAGE_SIDE):
        raise DataError(f"image_size must be between 1×1 and {_MAX_IMAGE_SIDE}×{_MAX_IMAGE_SIDE}, got {h}×{w}")
    return (h, w)
