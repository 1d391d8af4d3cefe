"""A user's own images: a zip or a folder of pictures, read with limits on files, bytes and paths (no zip bomb,
no path outside the archive), labelled by their folders."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from models.data.datasets import Dataset, _make, _permutation_split
from models.data.images import _decode_pixels, decode_image
from models.data.load import _check_size
from models.errors import DataError

_OS_METADATA = {"__MACOSX", "Thumbs.db", "desktop.ini"}


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
