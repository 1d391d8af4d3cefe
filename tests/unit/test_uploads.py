"""A user's own images (models/data/uploads.py, images.py): zips and folders, labels from folders, and every
refusal (text files, truncated or huge images, zip bombs) with a message naming the file."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from models.data import Dataset, load_user_images
from models.errors import DataError


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def mixed_images() -> dict[str, bytes]:
    """Solid images of known gray level, in PNG and JPEG, RGB and L, various sizes."""
    return {
        "a_white.png": png_bytes(Image.new("L", (40, 30), 255)),
        "b_black.jpg": jpeg_bytes(Image.new("RGB", (17, 50), (0, 0, 0))),
        "c_red.png": png_bytes(Image.new("RGB", (28, 28), (255, 0, 0))),
        "d_gray.jpg": jpeg_bytes(Image.new("L", (100, 64), 128)),
        "e_rgba.png": png_bytes(Image.new("RGBA", (9, 9), (0, 0, 255, 255))),
    }


def all_images(ds: Dataset) -> torch.Tensor:
    return torch.cat([ds.train, ds.test])


# --- user uploads ----------------------------------------------------------------------------

def test_user_zip_of_mixed_images():
    ds = load_user_images(make_zip(mixed_images()), image_size=(28, 28), name="faces.zip")
    assert ds.name == "user" and ds.train.shape == (4, 1, 28, 28) and ds.test.shape == (1, 1, 28, 28)
    x = all_images(ds)
    assert x.dtype == torch.float32 and x.min() >= 0 and x.max() <= 1
    means = sorted(round(v, 2) for v in x.mean(dim=(1, 2, 3)).tolist())
    # black, blue (L≈29/255), red (L≈76/255), gray 128, white
    assert means == pytest.approx([0.0, 29 / 255, 76 / 255, 128 / 255, 1.0], abs=0.02)
    assert ds.train_labels is None and ds.label_names is None
    assert ds.source == "your upload: 5 images from faces.zip, resized to 28×28 (4 train / 1 held out)"


def test_user_split_is_deterministic_and_rounded():
    files = {f"img{i:02d}.png": png_bytes(Image.new("L", (8, 8), i * 6)) for i in range(37)}
    a = load_user_images(make_zip(files), image_size=(8, 8))
    b = load_user_images(make_zip(dict(reversed(files.items()))), image_size=(8, 8))  # order in zip must not matter
    assert len(a.train) == 33 and len(a.test) == 4
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert "33 train / 4 held out" in a.source


def test_user_subfolders_become_labels():
    files = {}
    for i in range(4):
        files[f"photos/dogs/d{i}.png"] = png_bytes(Image.new("L", (12, 12), 200))
        files[f"photos/cats/c{i}.jpg"] = jpeg_bytes(Image.new("L", (12, 12), 40))
    ds = load_user_images(make_zip(files), image_size=(12, 12))
    assert ds.label_names == ("cats", "dogs")  # the shared "photos/" wrapper is not a class
    for x, y in ((ds.train, ds.train_labels), (ds.test, ds.test_labels)):
        bright = x.mean(dim=(1, 2, 3)) > 0.5
        assert torch.equal(bright, y == 1)
    assert "2 labels" in ds.source


def test_user_zip_with_text_file_is_refused():
    files = mixed_images() | {"notes.txt": b"my dataset"}
    with pytest.raises(DataError, match="notes.txt .*not a PNG or JPEG"):
        load_user_images(make_zip(files))


def test_user_content_decides_not_extension():
    files = {"real_png.jpg": png_bytes(Image.new("L", (5, 5), 0)), "ok.png": png_bytes(Image.new("L", (5, 5), 255))}
    assert len(all_images(load_user_images(make_zip(files)))) == 2
    with pytest.raises(DataError, match="fake.png"):
        load_user_images(make_zip(files | {"fake.png": b"GIF89a not really"}))


def test_user_truncated_png_is_named():
    good = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)))
    files = mixed_images() | {"broken.png": good[: len(good) // 2]}
    with pytest.raises(DataError, match="broken.png"):
        load_user_images(make_zip(files))


def test_user_os_metadata_is_ignored():
    files = mixed_images() | {
        "__MACOSX/._a_white.png": b"\x00\x05\x16\x07 resource fork",
        ".DS_Store": b"Bud1 junk",
        "sub/.hidden.png": b"not an image",
    }
    ds = load_user_images(make_zip(files))
    assert len(all_images(ds)) == 5 and ds.label_names is None


def test_user_non_zip_bytes():
    with pytest.raises(DataError, match="not a zip file"):
        load_user_images(b"this is plain text, not an archive")
    with pytest.raises(DataError, match="single image"):
        load_user_images(png_bytes(Image.new("L", (4, 4))))


def test_user_folder_matches_zip(tmp_path):
    files = {"x/one.png": png_bytes(Image.new("L", (20, 10), 30)),
             "x/two.jpg": jpeg_bytes(Image.new("RGB", (10, 20), (200, 100, 50))),
             "y/three.png": png_bytes(Image.new("L", (16, 16), 250))}
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    from_folder = load_user_images(tmp_path, image_size=(16, 16))
    from_zip = load_user_images(make_zip(files), image_size=(16, 16))
    assert torch.equal(all_images(from_folder), all_images(from_zip))
    assert torch.equal(from_folder.train_labels, from_zip.train_labels)
    assert from_folder.label_names == ("x", "y")

    zip_path = tmp_path.parent / "upload.zip"
    zip_path.write_bytes(make_zip(files))
    assert torch.equal(all_images(load_user_images(zip_path, image_size=(16, 16))), all_images(from_zip))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_user_huge_image_refused_from_header():
    huge = io.BytesIO()
    Image.new("1", (10000, 10000)).save(huge, "PNG")  # ~12 kB on disk, 100 megapixels decoded
    files = mixed_images() | {"huge.png": huge.getvalue()}
    with pytest.raises(DataError, match="huge.png .*10000×10000"):
        load_user_images(make_zip(files))


def test_user_zip_bomb_guards():
    files = {f"i{i}.png": png_bytes(Image.new("L", (4, 4), i)) for i in range(6)}
    with pytest.raises(DataError, match="entries"):
        load_user_images(make_zip(files), max_files=5)
    with pytest.raises(DataError, match="MiB"):
        load_user_images(make_zip(files | {"zeros.png": bytes(2 * 2**20)}), max_total_bytes=2**20)


def test_user_needs_two_images():
    with pytest.raises(DataError, match="at least 2"):
        load_user_images(make_zip({"only.png": png_bytes(Image.new("L", (4, 4)))}))


def test_user_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_user_images(tmp_path / "nope.zip")


def test_a_small_zip_of_huge_cheap_pngs_is_refused_before_decoding_them_all():
    # 1-bit PNGs of 2000×2000 compress to a few hundred bytes each but declare 4 megapixels each.
    big = png_bytes(Image.new("1", (2000, 2000)))
    assert len(big) < 2000
    upload = make_zip({f"img{i}.png": big for i in range(10)})
    with pytest.raises(DataError, match="megapixels to decode, too much for a shared server"):
        load_user_images(upload, max_decode_pixels=20_000_000)
    assert len(load_user_images(upload, max_decode_pixels=50_000_000).train) == 9  # within budget: fine


def test_uploads_are_held_as_uint8_and_give_the_floats_decode_image_gives():
    from models.data import decode_gray, decode_image, read_user_images

    rng = np.random.default_rng(3)
    eight = png_bytes(Image.fromarray(rng.integers(0, 256, (30, 20), dtype=np.uint8)))
    sixteen = png_bytes(Image.fromarray(rng.integers(0, 65536, (30, 20), dtype=np.uint16)))
    assert decode_gray(eight, "8-bit", (12, 12)).dtype == np.uint8
    assert np.array_equal(decode_gray(eight, "8-bit", (12, 12)) * np.float32(1 / 255),
                          decode_image(eight, "8-bit", (12, 12)))  # the same floats as before, bit for bit
    exact = decode_image(sixteen, "16-bit", (12, 12))  # 16-bit: rounded to the nearest of 256 levels
    assert np.abs(decode_gray(sixteen, "16-bit", (12, 12)) / 255 - exact).max() <= 1 / 510 + 1e-7
    upload = read_user_images(make_zip({"a.png": eight, "b.png": sixteen, "c.png": eight}), image_size=(12, 12))
    assert upload.train.dtype == np.uint8 and upload.nbytes == 3 * 12 * 12
    assert torch.equal(load_user_images(make_zip({"a.png": eight, "b.png": eight}), image_size=(12, 12)).train[0, 0],
                       torch.from_numpy(decode_image(eight, "8-bit", (12, 12))))
