"""One uploaded picture decoded safely: the header checked before any pixel is decoded, then grey, resized
and either kept as uint8 (decode_gray: how an upload is held) or scaled to [0, 1] (decode_image)."""

from __future__ import annotations

import io

import numpy as np

from models.errors import DataError

# Uploads: anything bigger than this is refused from the header, before any pixel is decoded
# (50 MP still admits a 48 MP phone photo; JPEGs are decoded at reduced scale anyway).
_MAX_IMAGE_PIXELS = 50_000_000
_MAX_IMAGE_SIDE = 1024  # largest image_size we resize to: the models are small


def decode_image(data: bytes, label: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Bytes of one PNG/JPEG → float32 grayscale H×W in [0, 1], upright (EXIF), resized to `size` if given
    (else at most about 512 pixels a side for big JPEGs). Decides the format by content, not by extension;
    anything wrong raises DataError naming `label`."""
    return _decoded(data, label, size, uint8=False)


def decode_gray(data: bytes, label: str, size: tuple[int, int]) -> np.ndarray:
    """decode_image as uint8 grey levels (0 to 255): exactly what decode_image scales for 8-bit pictures, and
    16-bit PNGs rounded to the nearest level."""
    return _decoded(data, label, size, uint8=True)


def _decoded(data: bytes, label: str, size: tuple[int, int] | None, uint8: bool) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:  # reads the header only
            _check_header(im, label)
            im.verify()  # PNG: walks every chunk and checks CRCs without decoding
        with Image.open(io.BytesIO(data)) as im:  # verify() leaves the image unusable: reopen
            return _to_gray(im, size, uint8)
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


def _to_gray(im, size: tuple[int, int] | None, uint8: bool) -> np.ndarray:
    from PIL import Image, ImageOps

    target = max(size) if size else 512
    if im.format in ("JPEG", "MPO"):
        im.draft("L", (target, target))  # decode at a reduced scale: big photos load fast and small
    im = ImageOps.exif_transpose(im)  # phone photos store their rotation in EXIF
    if im.mode.startswith("I"):  # 16-bit PNG: convert("L") would clip at 255, so scale ourselves
        im = Image.fromarray(np.asarray(im, dtype=np.float32) / 65535.0)
    else:
        im = im.convert("L")
    if size:
        im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    x = np.asarray(im)
    if x.dtype == np.uint8:
        return x if uint8 else np.clip(x.astype(np.float32) * (1 / 255.0), 0.0, 1.0)
    x = np.clip(x.astype(np.float32), 0.0, 1.0)
    return np.rint(x * 255).astype(np.uint8) if uint8 else x
