"""Image sets as uint8, a quarter of float32's bytes: UploadedSet, the holder a user's upload is kept in, and
the plain form a set travels in to a training worker.

    pack(ds) -> dict     only numpy arrays (uint8 images N×C×H×W, int64 labels or None), str, list[str], None
    unpack(d) -> Dataset the float32 Dataset the trainer wants (uint8 / 255), same split, labels, names, source

An UploadedSet packs without copying a pixel; a float Dataset (a bundled set) is rounded to uint8, within 1/510 of
its values. Pixels become float32 only per use: UploadedSet.dataset() for a run's training, heldout() (made once,
shared by every model trained on the set) for what a finished model's pages show.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from models.data.datasets import Dataset

_SCALE = np.float32(1 / 255)  # the same float32 factor images.decode_image applies: identical floats


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with == is ambiguous
class UploadedSet:
    name: str
    train: np.ndarray  # uint8 N×C×H×W
    test: np.ndarray
    train_labels: np.ndarray | None  # int64 (N,)
    test_labels: np.ndarray | None
    label_names: tuple[str, ...] | None
    source: str

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train, self.train_labels), ("test", self.test, self.test_labels)):
            if not isinstance(x, np.ndarray) or x.ndim != 4 or x.dtype != np.uint8:
                raise ValueError(f"UploadedSet.{split} must be a uint8 N×C×H×W array")
            if y is not None and (y.dtype != np.int64 or y.shape != (len(x),)):
                raise ValueError(f"UploadedSet.{split}_labels must be int64 of shape ({len(x)},)")
        if self.train.shape[1:] != self.test.shape[1:]:
            raise ValueError("UploadedSet.train and UploadedSet.test must have the same image shape")

    @property
    def nbytes(self) -> int:
        return self.train.nbytes + self.test.nbytes

    def dataset(self) -> Dataset:
        """Both splits as float32 (four times the bytes): made per use, for a run's training."""
        return unpack(pack(self))

    @cached_property
    def heldout(self) -> Dataset:
        """The held-out split as float32 and the training images' count (no training pixels): made once, so every
        model trained on this set shares one copy."""
        labels = _labels(self.test_labels)
        return Dataset(name=self.name, train=torch.empty((0, *self.train.shape[1:]), dtype=torch.float32),
                       test=_floats(self.test), train_labels=None if labels is None else labels[:0].clone(),
                       test_labels=labels, label_names=self.label_names, source=self.source,
                       dropped_train=len(self.train))


def pack(ds: Dataset | UploadedSet) -> dict:
    """The set as plain arrays and strings. An UploadedSet's arrays go as they are (no copy); a float Dataset's
    images are rounded to uint8."""
    if isinstance(ds, UploadedSet):
        images, labels = (ds.train, ds.test), (ds.train_labels, ds.test_labels)
    else:
        if ds.dropped_train:
            raise ValueError(f"{ds.name} has let its training images go: there is nothing to train on")
        images = tuple(_bytes(x) for x in (ds.train, ds.test))
        labels = tuple(None if y is None else y.numpy().astype(np.int64) for y in (ds.train_labels, ds.test_labels))
    return {"name": ds.name, "source": ds.source, "train": images[0], "test": images[1],
            "train_labels": labels[0], "test_labels": labels[1],
            "label_names": None if ds.label_names is None else list(ds.label_names)}


def unpack(d: dict) -> Dataset:
    """The float32 Dataset of a packed set (each uint8 value / 255)."""
    for split in ("train", "test"):
        if not isinstance(d[split], np.ndarray) or d[split].dtype != np.uint8:
            raise ValueError(f"a packed set's {split} images must be a uint8 array")
    names = d["label_names"]
    return Dataset(name=d["name"], train=_floats(d["train"]), test=_floats(d["test"]),
                   train_labels=_labels(d["train_labels"]), test_labels=_labels(d["test_labels"]),
                   label_names=None if names is None else tuple(names), source=d["source"])


def _bytes(x: torch.Tensor) -> np.ndarray:
    return np.rint(x.numpy() * 255).clip(0, 255).astype(np.uint8)


def _floats(x: np.ndarray) -> torch.Tensor:
    y = x.astype(np.float32)  # a fresh, writable array (a packed array may be read-only)
    y *= _SCALE
    return torch.from_numpy(y)


def _labels(y: np.ndarray | None) -> torch.Tensor | None:
    return None if y is None else torch.from_numpy(np.array(y, dtype=np.int64))
