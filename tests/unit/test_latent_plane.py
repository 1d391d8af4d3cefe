"""The latent plane's Python side: the payload the browser parses, the planes' coordinates, and the nearest code."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest
import torch

from models.analysis.latent import principal_directions
from models.autoencoders import build_model
from models.config import ModelConfig
from models.data import Dataset
from models.decoder_program import decoder_program
from tests import ROOT
from ui.latent.plots import SliderRange
from ui.latent_plane.payload import MAGIC, PlaneSpec, pack, unpack
from ui.latent_plane.views import (MAX_BROWSER_WEIGHTS, browser_can_decode, codes_plane, latent_plane, nearest_code,
                                   pca_plane, plane_payload)

COMPONENT = ROOT / "ui" / "latent_plane"
BOUNDS = (SliderRange(-3.0, 3.0, 0.02, 0.0), SliderRange(-2.0, 4.0, 0.02, 1.0))


def spec() -> PlaneSpec:
    return latent_plane(BOUNDS, (-1.5, 1.5, -1.0, 2.0))


def small_model():
    torch.manual_seed(0)
    return build_model(ModelConfig(kind="vae", hidden=(8,), input_shape=(1, 5, 5))).eval()


def test_payload_round_trips_every_buffer_aligned():
    model = small_model()
    program = decoder_program(model)
    codes = torch.randn(7, 2)
    labels = np.array([0, 1, 2, 0, 1, 2, 0])
    thumbs = np.arange(7 * 25, dtype=np.uint8).reshape(7, 5, 5)
    data = pack("manifold:x", "A model", program, spec(), codes.numpy(), codes.numpy(), labels, ["a", "b", "c"],
                thumbs)
    assert data[:4] == MAGIC
    (length,) = struct.unpack("<I", data[4:8])
    header, arrays = unpack(data)
    assert header["blob_start"] % 4 == 0 and header["blob_start"] >= 8 + length
    assert all(spec_["offset"] % 4 == 0 for spec_ in header["buffers"].values())
    assert header["id"] == "manifold:x" and header["count"] == 7 and header["label_names"] == ["a", "b", "c"]
    assert header["program"]["latent"] == 2 and header["program"]["image_shape"] == [1, 5, 5]
    assert header["plane"]["bounds"] == [-3.0, 3.0, -2.0, 4.0] and header["plane"]["start"] == [0.0, 1.0]
    assert np.array_equal(arrays["weights"], program.weights)
    assert np.array_equal(arrays["xy"].reshape(7, 2), codes.numpy())
    assert arrays["labels"].tolist() == labels.tolist()
    assert np.array_equal(arrays["thumbs"].reshape(7, 5, 5), thumbs)


def test_no_labels_travel_as_minus_one():
    model = small_model()
    codes = np.zeros((3, 2), np.float32)
    data = pack("p", "t", decoder_program(model), spec(), codes, codes, None, None, np.zeros((3, 5, 5), np.uint8))
    assert unpack(data)[1]["labels"].tolist() == [-1, -1, -1]


def test_a_plane_that_is_not_finite_is_refused():
    bad = PlaneSpec(**{**spec().__dict__, "extent": (float("nan"), 1.0, 0.0, 1.0)})
    model = small_model()
    codes = np.zeros((1, 2), np.float32)
    with pytest.raises(ValueError, match="extent"):
        pack("p", "t", decoder_program(model), bad, codes, codes, None, None, np.zeros((1, 5, 5), np.uint8))


def test_latent_plane_spans_the_sliders_and_steps_fifty_times_across():
    plane = latent_plane(BOUNDS, (-1.5, 1.5, -1.0, 2.0))
    assert plane.extent == plane.bounds == (-3.0, 3.0, -2.0, 4.0)
    assert plane.step == (0.2, 0.2)  # 6 / 50 = 0.12, rounded up to a 1-2-5 step
    assert plane.start == (0.0, 1.0) and plane.grid == (-1.5, 1.5, -1.0, 2.0)
    assert (plane.v1, plane.v2, plane.base) == ((1.0, 0.0), (0.0, 1.0), (0.0, 0.0))


def test_pca_plane_coordinates_rebuild_the_principal_code():
    generator = torch.Generator().manual_seed(1)
    codes = torch.randn(300, 6, generator=generator) * torch.tensor([3.0, 2.0, 1.0, 0.5, 0.2, 0.1]) + 1.0
    pca = principal_directions(codes, 4)
    plane = pca_plane(pca, 3.0)
    a = [1.5, -0.5, 0.7, 0.2]
    base = pca.code([0.0, 0.0, *a[2:]])  # what the page sends for the other directions
    x, y = a[0] * float(pca.std[0]), a[1] * float(pca.std[1])
    z = base + x * torch.tensor(plane.v1) + y * torch.tensor(plane.v2)
    assert torch.allclose(z, pca.code(a), atol=1e-5)
    assert plane.bounds[1] == pytest.approx(3.0 * float(pca.std[0]))
    assert plane.std == pytest.approx((float(pca.std[0]), float(pca.std[1])))


def test_codes_plane_covers_every_code_and_region():
    codes = torch.tensor([[0.0, 0.0], [10.0, -4.0]])
    plane = codes_plane(codes, [(-3.0, 3.0, -3.0, 3.0), (-1.0, 12.0, -5.0, 1.0)])
    x0, x1, y0, y1 = plane.extent
    assert x0 < -3 and x1 > 12 and y0 < -5 and y1 > 3
    assert plane.start == (0.0, 0.0)


def test_nearest_code_uses_every_dimension():
    codes = torch.tensor([[0.0, 0.0, 5.0], [0.1, 0.1, 0.0], [3.0, 4.0, 0.0]])
    index, distance = nearest_code(codes, torch.tensor([0.0, 0.0, 0.0]))
    assert index == 1 and distance == pytest.approx(2 ** 0.5 * 0.1)


def test_plane_payload_carries_the_held_out_images_as_uint8():
    model = small_model()
    x = torch.rand(4, 1, 5, 5)
    labels = torch.tensor([1, 0, 1, 0])
    data = Dataset(name="tiny", train=x, test=x, train_labels=labels, test_labels=labels, label_names=("p", "q"),
                   source="test")
    codes = model.embed(x)
    header, arrays = unpack(plane_payload("id", "title", model, spec(), codes, codes, data))
    assert arrays["thumbs"].reshape(4, 5, 5)[2, 1, 3] == int(x[2, 0, 1, 3] * 255 + 0.5)
    assert header["label_names"] == ["p", "q"] and arrays["labels"].tolist() == [1, 0, 1, 0]


def test_a_decoder_too_large_for_a_browser_says_why():
    assert browser_can_decode(small_model()).ok
    huge = build_model(ModelConfig(hidden=(4096, 2048), input_shape=(1, 28, 28))).to("meta")
    verdict = browser_can_decode(huge)
    assert not verdict.ok and "million weights" in verdict.reason
    assert MAX_BROWSER_WEIGHTS < 4096 * 2048


def test_the_committed_wasm_was_built_from_the_committed_source():
    """build_kernels.sh records the source's hash beside the .wasm: editing kernels.c without rebuilding fails."""
    recorded = (COMPONENT / "kernels.c.sha256").read_text().strip()
    assert hashlib.sha256((COMPONENT / "kernels.c").read_bytes()).hexdigest() == recorded
    wasm = (COMPONENT / "kernels.wasm").read_bytes()
    assert wasm[:4] == b"\0asm" and b"conv_transpose" in wasm and b"linear" in wasm


def test_pca_plane_of_codes_that_do_not_vary_still_has_an_extent():
    codes = torch.ones(20, 4)
    plane = pca_plane(principal_directions(codes, 4), 3.0)
    x0, x1, y0, y1 = plane.extent
    assert x1 > x0 and y1 > y0


def test_a_payload_without_the_held_out_images_is_smaller_and_says_so():
    model = small_model()
    x = torch.rand(4, 1, 5, 5)
    data = Dataset(name="tiny", train=x, test=x, train_labels=None, test_labels=None, label_names=None,
                   source="test")
    codes = model.embed(x)
    full = plane_payload("id", "t", model, spec(), codes, codes, data)
    frame = plane_payload("id", "t", model, spec(), codes, codes, data, with_images=False)
    assert len(frame) < len(full) and unpack(frame)[1]["thumbs"].size == 0
