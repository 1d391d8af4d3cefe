"""A Dataset as plain arrays for a worker in another process or on another machine: images as uint8 (a quarter
of float32's bytes, exact for 8-bit pictures), labels as int64, names and source as text. Nothing is pickled:
models.jobs.wire carries these types as they are."""

from __future__ import annotations

import numpy as np
import torch

from models.data.datasets import Dataset


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float32 in [0, 1] → uint8, rounded (an 8-bit picture comes back exactly)."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def pack(ds: Dataset) -> dict:
    labels = {split: None if y is None else y.numpy().astype(np.int64)
              for split, y in (("train_labels", ds.train_labels), ("test_labels", ds.test_labels))}
    return {"name": ds.name, "source": ds.source, "train": to_uint8(ds.train), "test": to_uint8(ds.test),
            "label_names": None if ds.label_names is None else list(ds.label_names), **labels}


def unpack(d: dict) -> Dataset:
    def images(a) -> torch.Tensor:
        a = np.asarray(a)
        if a.dtype != np.uint8 or a.ndim != 4:
            raise ValueError(f"packed images must be uint8 N×C×H×W, got {a.dtype} {a.shape}")
        return torch.from_numpy(a.astype(np.float32) / 255.0)

    def labels(a) -> torch.Tensor | None:
        return None if a is None else torch.from_numpy(np.asarray(a, np.int64))

    names = d.get("label_names")
    return Dataset(name=str(d["name"]), train=images(d["train"]), test=images(d["test"]),
                   train_labels=labels(d.get("train_labels")), test_labels=labels(d.get("test_labels")),
                   label_names=None if names is None else tuple(str(n) for n in names), source=str(d["source"]))
