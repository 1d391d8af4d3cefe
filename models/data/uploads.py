"""A user's own images: a zip or a folder of pictures, read with limits on files, bytes and paths (no zip bomb,
no path outside the archive), labelled by their folders, and kept as uint8 (models/data/packed.py's UploadedSet)
within a cap on the decoded bytes, checked from the listing before any image is decoded."""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from models.data.datasets import Dataset, _permutation_split
from models.data.images import _decode_pixels, decode_gray
from models.data.load import _check_size
from models.data.packed import UploadedSet
from models.errors import DataError

_OS_METADATA = {"__MACOSX", "Thumbs.db", "desktop.ini"}


# Decoded pixels one upload may hold, as uint8 at the chosen image size (a float32 copy for training is 4× this):
# 64 MB is 20,000 images at 56×56, or 81,000 at 28×28.
MAX_UPLOAD_PIXEL_BYTES = 64_000_000


def load_user_images(path_or_bytes: str | os.PathLike | bytes, image_size=(28, 28), *, max_files: int = 20000,
                     max_total_bytes: int = 200 * 2**20, max_decode_pixels: int = 300_000_000,
                     max_pixel_bytes: int = MAX_UPLOAD_PIXEL_BYTES, held_out_fraction: float = 0.1,
                     name: str = "upload") -> Dataset:
    """read_user_images as a float32 Dataset (four times the bytes of the uint8 set it is made from)."""
    return read_user_images(path_or_bytes, image_size, max_files=max_files, max_total_bytes=max_total_bytes,
                            max_decode_pixels=max_decode_pixels, max_pixel_bytes=max_pixel_bytes,
                            held_out_fraction=held_out_fraction, name=name).dataset()


def read_user_images(path_or_bytes: str | os.PathLike | bytes, image_size=(28, 28), *, max_files: int = 20000,
                     max_total_bytes: int = 200 * 2**20, max_decode_pixels: int = 300_000_000,
                     max_pixel_bytes: int = MAX_UPLOAD_PIXEL_BYTES, held_out_fraction: float = 0.1,
                     name: str = "upload") -> UploadedSet:
    """PNG/JPEG images from a folder, a .zip path, or zip bytes → grayscale `image_size` images as uint8.
    Images in sub-folders are labelled by sub-folder name. Anything else in the upload is an error.

    max_decode_pixels bounds the decoding work, counted from each header before decoding: a 6 kB PNG can
    declare 49 megapixels, so file sizes alone would let a small zip hold a shared server for an hour.
    max_pixel_bytes bounds what the decoded set holds, counted from the listing before any image is decoded;
    each image is decoded straight into its place in one preallocated array of each split."""
    size = _check_size(image_size)
    if not 0.0 <= held_out_fraction < 1.0:
        raise DataError(f"held_out_fraction must be at least 0 and below 1, got {held_out_fraction}")
    unsafe: list[str] = []  # zip entries under ../ or an absolute path: never read, but said
    with _open_upload(path_or_bytes, name, max_files, max_total_bytes, unsafe) as (kind, display, names, read):
        _check_pixel_bytes(len(names), size, display, max_pixel_bytes)
        n = len(names)
        n_test = min(n - 1, max(1, round(n * held_out_fraction))) if n >= 2 else 0
        train_idx, test_idx = _permutation_split(n, n_test)
        train, test = _decode_split(names, read, train_idx, test_idx, display, size, max_decode_pixels)
    skipped = (f"; {len(unsafe):,} entr{'y' if len(unsafe) == 1 else 'ies'} with unsafe paths (../ or absolute, "
               f"e.g. {unsafe[0][:60]}) were skipped") if unsafe else ""
    if n < 2:
        raise DataError(f"{display} holds {n} PNG/JPEG image(s){skipped}; at least 2 are needed")
    label_list, label_names = _labels_from_folders(names)
    labels = None if label_list is None else np.asarray(label_list, dtype=np.int64)
    labelled = f", {len(label_names)} labels from sub-folders" if label_names else ""
    source = (f"{kind}: {n:,} images from {display}{labelled}, resized to {size[0]}×{size[1]}{skipped} "
              f"({n - n_test:,} train / {n_test:,} held out)")
    return UploadedSet(name="user", train=train, test=test,
                       train_labels=None if labels is None else labels[train_idx],
                       test_labels=None if labels is None else labels[test_idx], label_names=label_names, source=source)


def _decode_split(names: list[str], read: Callable[[int], bytes], train_idx: np.ndarray, test_idx: np.ndarray,
                  display: str, size: tuple[int, int], max_decode_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """Each image decoded straight into its row of the train or held-out array, both allocated once: no list
    of decoded images to stack, so the peak is the set itself and one image."""
    splits = (np.empty((len(train_idx), 1, *size), np.uint8), np.empty((len(test_idx), 1, *size), np.uint8))
    held_out = np.zeros(len(names), bool)
    held_out[test_idx] = True
    rows = np.empty(len(names), np.int64)  # image i goes to row rows[i] of its split
    rows[train_idx], rows[test_idx] = np.arange(len(train_idx)), np.arange(len(test_idx))
    work = 0
    for i, rel in enumerate(names):
        data = read(i)
        work += _decode_pixels(data)
        if work > max_decode_pixels:
            raise DataError(f"the images in {display} add up to more than {max_decode_pixels / 1e6:,.0f} "
                            f"megapixels to decode, too much for a shared server: shrink them (e.g. to 256×256) "
                            f"or send fewer")
        splits[int(held_out[i])][rows[i], 0] = decode_gray(data, f"{rel} in {display}", size)
    return splits


def _check_pixel_bytes(n: int, size: tuple[int, int], display: str, limit: int) -> None:
    """Refuse, before anything is decoded, an upload whose images at `size` would take more than `limit` bytes."""
    need = n * size[0] * size[1]
    if need <= limit:
        return
    fits = int((limit / n) ** 0.5)  # the largest square side at which all n fit
    smaller = f"a smaller image size (all {n:,} fit at {fits}×{fits} or less)" if fits >= 1 else "a smaller image size"
    raise DataError(f"{display} holds {n:,} images: at {size[0]}×{size[1]} pixels they take {need / 1e6:,.1f} MB, "
                    f"more than the {limit / 1e6:,.0f} MB one upload may use on this shared server. Send at most "
                    f"{limit // (size[0] * size[1]):,} images at this size, or choose {smaller}.")


@contextmanager
def _open_upload(src: str | os.PathLike | bytes, name: str, max_files: int, max_total_bytes: int,
                 unsafe: list[str]) -> Iterator[tuple[str, str, list[str], Callable[[int], bytes]]]:
    """(kind, display name, sorted relative names, read(i) → bytes of the i-th): the listing first, so that the
    images can be counted before any is read."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        display = name if name != "upload" else "the uploaded zip"
        data = bytes(src)
        if not zipfile.is_zipfile(io.BytesIO(data)):
            hint = " (it looks like a single image; put at least 2 images in a zip)" if _looks_like_image(data) else ""
            raise DataError(f"the upload is not a zip file{hint}: upload a .zip of PNG or JPEG images")
        with _zip_members(io.BytesIO(data), display, max_files, max_total_bytes, unsafe) as (names, read):
            yield "your upload", display, names, read
        return
    path = Path(src).expanduser()
    if path.is_dir():
        display = name if name != "upload" else str(path)
        files = _folder_members(path, display, max_files, max_total_bytes)
        yield "your folder", display, [rel for rel, _ in files], lambda i: files[i][1].read_bytes()
        return
    if not path.exists():
        raise DataError(f"{path} does not exist: give a folder of images or a .zip file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not a zip file or a folder: give a folder of images or a .zip file")
    display = name if name != "upload" else path.name
    with _zip_members(path, display, max_files, max_total_bytes, unsafe) as (names, read):
        yield "your upload", display, names, read


def _looks_like_image(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")


def _is_metadata(rel: str) -> bool:
    """macOS resource forks, dot-files (.DS_Store) and Windows thumbnails are not the user's images."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return any(p in _OS_METADATA or p.startswith(".") for p in parts)


def _is_unsafe(rel: str) -> bool:
    """A zip entry that would land outside the folder it is unpacked in (zip-slip): ../ or an absolute path."""
    return rel.startswith("/") or re.match(r"[A-Za-z]:", rel) is not None or ".." in rel.split("/")


@contextmanager
def _zip_members(file: str | os.PathLike | io.BytesIO, display: str, max_files: int, max_total_bytes: int,
                 unsafe: list[str]) -> Iterator[tuple[list[str], Callable[[int], bytes]]]:
    """The sorted names of the zip's images and read(i), while the zip is open."""
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
        members: list[tuple[str, zipfile.ZipInfo]] = []
        for info in sorted(infos, key=lambda i: i.filename):
            rel = info.filename.replace("\\", "/")
            if info.is_dir() or rel.endswith("/"):
                continue
            if _is_unsafe(rel):
                unsafe.append(rel)
            elif not _is_metadata(rel):
                members.append((rel, info))

        def read(i: int) -> bytes:
            rel, info = members[i]
            try:
                return zf.read(info)
            except Exception as e:  # bad CRC, encrypted, unsupported compression
                raise DataError(f"{rel} in {display} could not be extracted: {e}") from None

        yield [rel for rel, _ in members], read


def _folder_members(root: Path, display: str, max_files: int, max_total_bytes: int) -> list[tuple[str, Path]]:
    """The sorted (relative name, path) of the folder's files."""
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
    return sorted(((p.relative_to(root).as_posix(), p) for p in files), key=lambda item: item[0])


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


class UploadCache:
    """A session's decoded uploads, reused: the same bytes at the same image size give the same UploadedSet (keyed
    by their SHA-256 and the size), so training twice on one upload, or uploading it again, decodes and holds it
    once, and the models trained on it share its one float32 held-out split. Keeps the newest `keep` sets."""

    def __init__(self, keep: int = 1):
        self.keep = keep
        self._sets: OrderedDict[tuple[str, tuple[int, int]], UploadedSet] = OrderedDict()

    def read(self, data: bytes, image_size=(28, 28), **options) -> UploadedSet:
        """read_user_images(data, image_size, **options), or the set these bytes gave before at this size."""
        key = (hashlib.sha256(data).hexdigest(), _check_size(image_size))
        if key in self._sets:
            self._sets.move_to_end(key)
            return self._sets[key]
        while self._sets and len(self._sets) >= self.keep:  # the oldest goes before the new one is decoded
            self._sets.popitem(last=False)
        uploaded = self._sets[key] = read_user_images(data, image_size, **options)
        return uploaded
