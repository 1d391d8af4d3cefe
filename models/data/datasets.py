"""The Dataset every loader returns (float32 N×C×H×W in [0, 1], a fixed train / held-out split, an honest
one-line source), the dataset names, and the helpers that build one. heldout_only() is the part a finished model
keeps: its held-out images, with the count of the training images it no longer holds."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

DATASETS = ("mnist", "fashion-mnist", "olivetti", "lfw")
SOURCES = ("auto", "bundled", "local", "download")


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors with == is ambiguous
class Dataset:
    name: str
    train: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor | None
    test_labels: torch.Tensor | None
    label_names: tuple[str, ...] | None
    source: str
    dropped_train: int = 0  # training images let go (heldout_only): counted in train_size, no longer held

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train, self.train_labels), ("test", self.test, self.test_labels)):
            if x.ndim != 4 or x.dtype != torch.float32:
                raise ValueError(f"Dataset.{split} must be a float32 N×C×H×W tensor, got {x.dtype} {tuple(x.shape)}")
            if y is not None and (y.dtype != torch.int64 or y.shape != (len(x),)):
                raise ValueError(f"Dataset.{split}_labels must be int64 of shape ({len(x)},)")
        if self.train.shape[1:] != self.test.shape[1:]:
            raise ValueError("Dataset.train and Dataset.test must have the same image shape")
        if self.dropped_train and len(self.train):
            raise ValueError("Dataset.dropped_train counts training images let go: train must then be empty")

    @property
    def train_size(self) -> int:
        """How many images the model was (or will be) trained on, held or not."""
        return len(self.train) + self.dropped_train

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.train.shape[1:]
        return (int(c), int(h), int(w))


def heldout_only(ds: Dataset) -> Dataset:
    """`ds` without its training images (what a finished model's pages use), sharing its held-out tensors. The
    empty train split is a fresh tensor: a slice such as ds.train[:0] would keep the whole training set alive."""
    if not len(ds.train):
        return ds
    labels = None if ds.train_labels is None else torch.empty(0, dtype=torch.int64)
    return replace(ds, train=torch.empty((0, *ds.image_shape), dtype=torch.float32), train_labels=labels,
                   dropped_train=len(ds.train))


def _resize(x: torch.Tensor, size: tuple[int, int] | None) -> torch.Tensor:
    if size is None or tuple(x.shape[-2:]) == size:
        return x
    y = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return y.clamp_(0.0, 1.0)  # bilinear with antialias can overshoot slightly


def _make(name: str, images: torch.Tensor, labels: torch.Tensor | None, train_idx: np.ndarray,
          test_idx: np.ndarray, label_names: tuple[str, ...] | None, origin: str,
          size: tuple[int, int] | None, split_note: str = "") -> Dataset:
    """Split, resize and describe: `origin` says where the images came from, the rest is appended."""
    native = tuple(images.shape[-2:])
    images = _resize(images, size)
    tr, te = torch.from_numpy(train_idx), torch.from_numpy(test_idx)
    resized = f", resized to {size[0]}×{size[1]}" if size is not None and size != native else ""
    source = f"{origin}{resized} ({len(tr):,} train / {len(te):,} held out{split_note})"
    return Dataset(
        name=name, train=images[tr].contiguous(), test=images[te].contiguous(),
        train_labels=None if labels is None else labels[tr], test_labels=None if labels is None else labels[te],
        label_names=label_names, source=source,
    )


def _permutation_split(n: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed split: the last `n_test` of a seed-0 permutation are held out, whatever the run."""
    perm = np.random.default_rng(0).permutation(n)
    return perm[: n - n_test], perm[n - n_test:]


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())  # torchvision lists every mirror it tried on separate lines


def _with_note(ds: Dataset, note: str) -> Dataset:
    return replace(ds, source=f"{ds.source}; {note}")
