"""Faces: the 400 Olivetti faces from a local olivettifaces.mat (or scikit-learn's opt-in download), else the
100 LFW faces bundled with scikit-image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.data.datasets import Dataset, _make, _one_line
from models.data.sources import _candidate_dirs, _download_dir, _find, _looked_in, _shown
from models.errors import DataError

OLIVETTI_FILE = "olivettifaces.mat"


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
