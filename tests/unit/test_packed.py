"""Image sets as uint8 (models/data/packed.py): what a training worker is sent (pack → plain arrays and strings,
unpack → the float32 Dataset), and the uint8 holder an upload is kept in."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from models.data import Dataset
from models.data.datasets import heldout_only
from models.data.packed import UploadedSet, pack, unpack


def float_set(n_train=40, n_test=10, labels=True) -> Dataset:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n_train + n_test,), generator=g) if labels else None
    return Dataset(name="user", train=torch.rand(n_train, 1, 6, 5, generator=g),
                   test=torch.rand(n_test, 1, 6, 5, generator=g), train_labels=None if y is None else y[:n_train],
                   test_labels=None if y is None else y[n_train:], label_names=("a", "b", "c") if labels else None,
                   source="your upload: 50 images")


def uploaded_set(n_train=300, n_test=30) -> UploadedSet:
    rng = np.random.default_rng(1)
    return UploadedSet(name="user", train=rng.integers(0, 256, (n_train, 1, 28, 28), dtype=np.uint8),
                       test=rng.integers(0, 256, (n_test, 1, 28, 28), dtype=np.uint8),
                       train_labels=rng.integers(0, 2, n_train).astype(np.int64),
                       test_labels=rng.integers(0, 2, n_test).astype(np.int64), label_names=("cats", "dogs"),
                       source="your upload: 330 images from pets.zip")


def plain(value) -> bool:
    """What pack may hold: numpy arrays, str, a list of str, None."""
    return (value is None or isinstance(value, (str, np.ndarray))
            or (isinstance(value, list) and all(isinstance(v, str) for v in value)))


@pytest.mark.parametrize("labels", [True, False])
def test_unpack_of_pack_is_the_set_within_half_a_grey_level(labels):
    ds = float_set(labels=labels)
    packed = pack(ds)
    assert all(plain(v) for v in packed.values()), {k: type(v) for k, v in packed.items()}
    assert packed["train"].dtype == np.uint8 and packed["train"].shape == (40, 1, 6, 5)
    back = unpack(packed)
    for x, y in ((back.train, ds.train), (back.test, ds.test)):
        assert x.dtype == torch.float32 and x.shape == y.shape
        error = (x - y).abs().max().item()
        assert error <= 1 / 510 + 1e-6 and error > 1 / 600  # rounded to the nearest of 256 levels, not exact
    assert (back.name, back.source, back.label_names) == (ds.name, ds.source, ds.label_names)
    for x, y in ((back.train_labels, ds.train_labels), (back.test_labels, ds.test_labels)):
        assert (x is None and y is None) or torch.equal(x, y)


def test_unpack_divides_each_byte_by_255_and_accepts_read_only_arrays():
    packed = pack(uploaded_set(2, 1))
    packed["train"][0, 0, 0, :3] = (0, 128, 255)
    for split in ("train", "test"):
        packed[split].flags.writeable = False  # as arrays read straight from a message buffer are
    back = unpack(packed)
    assert back.train[0, 0, 0, :3].tolist() == pytest.approx([0.0, 128 / 255, 1.0], abs=1e-7)
    with pytest.raises(ValueError, match="test images must be a uint8 array"):
        unpack({**packed, "test": packed["test"].astype(np.float32)})


def test_packing_an_uploaded_set_copies_no_pixel():
    upload = uploaded_set(2000, 200)  # 1.7 MB of uint8; as float32 it would be 6.9 MB
    tracemalloc.start()
    try:
        packed = pack(upload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert packed["train"] is upload.train and packed["test"] is upload.test
    assert packed["train_labels"] is upload.train_labels and packed["label_names"] == ["cats", "dogs"]
    assert peak < 10_000, peak  # a dict and a list, not a copy of any image


def test_an_uploaded_set_is_float_only_per_use_and_its_held_out_part_is_made_once():
    upload = uploaded_set()
    full = upload.dataset()
    assert full.train.shape == (300, 1, 28, 28) and full.train.dtype == torch.float32
    assert torch.equal(full.train, torch.from_numpy(upload.train).float() * np.float32(1 / 255))
    assert upload.dataset() is not full  # per use: nothing keeps the float copy
    held = upload.heldout
    assert held is upload.heldout  # shared by every model trained on the set
    assert held.train.shape == (0, 1, 28, 28) and held.train.untyped_storage().nbytes() == 0
    assert held.train_size == 300 and len(held.test) == 30 and held.dropped_train == 300
    assert torch.equal(held.test, full.test) and torch.equal(held.test_labels, full.test_labels)
    assert held.train_labels.shape == (0,) and held.label_names == ("cats", "dogs")
    with pytest.raises(ValueError, match="nothing to train on"):
        pack(held)


def test_held_out_only_lets_the_training_images_go_and_still_counts_them():
    ds = float_set()
    held = heldout_only(ds)
    assert held.train.shape == (0, 1, 6, 5) and held.train.untyped_storage().nbytes() == 0  # not a view of ds.train
    assert held.test is ds.test and held.train_size == 40 == ds.train_size and held.image_shape == (1, 6, 5)
    assert held.train_labels.shape == (0,) and heldout_only(held) is held
    with pytest.raises(ValueError, match="train must then be empty"):
        Dataset(name="x", train=ds.train, test=ds.test, train_labels=None, test_labels=None, label_names=None,
                source="", dropped_train=3)


def test_an_uploaded_set_refuses_float_images():
    with pytest.raises(ValueError, match="uint8 N×C×H×W"):
        UploadedSet(name="user", train=np.zeros((2, 1, 4, 4), np.float32), test=np.zeros((1, 1, 4, 4), np.uint8),
                    train_labels=None, test_labels=None, label_names=None, source="")
