"""The Latent manifold page's helpers: slider ranges (ui/latent/plots.py), principal directions
and the holes measure (models/analysis/latent.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.analysis import latent as la
from models.autoencoders import code_range_axis, gaussian_grid_axis
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.data import load_dataset
from ui.latent import plots as lp

CATALOG = {entry.name: entry for entry in load_catalog()}


def blob(n=400, latent=6, seed=0):
    """Correlated Gaussian codes with very different spreads per direction."""
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(latent, latent, generator=g) * torch.linspace(3.0, 0.1, latent)[:, None]
    return torch.randn(n, latent, generator=g) @ mixing + torch.arange(latent, dtype=torch.float32)


# --- slider ranges ---------------------------------------------------------------------------------------------
def test_slider_range_widens_the_axis_reaches_every_code_and_lands_on_its_step():
    axis = gaussian_grid_axis(15)
    values = torch.tensor([-4.63, 0.2, 1.0])
    bounds = lp.slider_range(axis, values)
    assert bounds.low <= -4.63 and bounds.high >= float(axis.max()) * 1.25
    assert bounds.low == pytest.approx(round(bounds.low / bounds.step) * bounds.step)
    assert bounds.default == 0.0
    assert bounds.clamp(1e9) == bounds.high and bounds.clamp(-1e9) == bounds.low
    assert bounds.snap(1.607) == pytest.approx(round((1.607 - bounds.low) / bounds.step) * bounds.step + bounds.low)
    assert abs(bounds.snap(1.607) - 1.607) <= bounds.step / 2


@pytest.mark.parametrize("span, step", [(8.1, 0.05), (49.5, 0.2), (6.0, 0.02), (0.3, 0.001)])
def test_nice_step_is_a_1_2_5_step(span, step):
    assert lp.nice_step(span) == pytest.approx(step)


# --- principal directions ----------------------------------------------------------------------------------------
def test_principal_directions_are_orthonormal_and_explain_at_most_all_variance():
    codes = blob()
    pca = la.principal_directions(codes, 4)
    assert pca.directions.shape == (4, 6)
    assert torch.allclose(pca.directions @ pca.directions.T, torch.eye(4), atol=1e-5)
    assert 0 < float(pca.explained.sum()) <= 1.0
    assert torch.all(pca.explained[:-1] >= pca.explained[1:])
    full = la.principal_directions(codes, 10)  # k above the latent size: all 6, all the variance
    assert len(full.std) == 6 and float(full.explained.sum()) == pytest.approx(1.0, abs=1e-6)


def test_principal_std_and_code_agree_with_the_projection():
    codes = blob()
    pca = la.principal_directions(codes, 3)
    projected = pca.project(codes)
    assert torch.allclose(projected.std(0), pca.std, rtol=1e-4)
    assert torch.allclose(pca.code([]), codes.mean(0), atol=1e-5)
    z = pca.code([1.0, -2.0])
    assert torch.allclose(pca.project(z[None])[0], torch.tensor([1.0, -2.0, 0.0]) * pca.std, atol=1e-4)


def test_traversal_sweeps_one_dimension_only():
    base = torch.tensor([0.5, -1.0, 2.0])
    codes = la.traversal_codes(base, 1, torch.tensor([-3.0, 0.0, 3.0]))
    assert codes[:, 1].tolist() == [-3.0, 0.0, 3.0]
    assert torch.all(codes[:, 0] == 0.5) and torch.all(codes[:, 2] == 2.0)
    assert base.tolist() == [0.5, -1.0, 2.0]


# --- selection -----------------------------------------------------------------------------------------------------
def test_codes_everywhere_leave_no_holes_and_a_corner_cluster_leaves_many():
    axis = torch.linspace(-3, 3, 31)
    everywhere = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    xs, ys, unit = la.region_axes(everywhere, "square", 15)
    full = la.holes(everywhere, xs, ys, unit)
    assert full.hole_fraction == 0.0 and full.codes_inside == 1.0 and full.mean_distance < la.HOLE_RADIUS

    corner = torch.tensor([[-3.0, 3.0], [-2.8, 2.9], [30.0, 30.0]])  # top-left, plus one far outside
    sparse = la.holes(corner, xs, ys, unit)
    assert sparse.codes_inside == pytest.approx(2 / 3)
    assert not sparse.mask[0, 0] and sparse.mask[-1, -1]  # row 0 is the top (largest z2), as decode_grid draws
    assert sparse.hole_fraction > 0.9


def test_spread_region_is_measured_in_each_models_own_units():
    codes = torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    scaled = codes * torch.tensor([10.0, 0.1]) + torch.tensor([5.0, -2.0])
    a = la.holes(codes, *la.region_axes(codes, "spread", 15))
    b = la.holes(scaled, *la.region_axes(scaled, "spread", 15))
    assert a.hole_fraction == pytest.approx(b.hole_fraction)
    assert a.mean_distance == pytest.approx(b.mean_distance, rel=1e-4)
    xs, ys, _ = la.region_axes(scaled, "spread", 15)
    assert float(xs[0]) == pytest.approx(float(scaled[:, 0].mean() - 3 * scaled[:, 0].std()), rel=1e-5)


def test_tile_marked_paints_only_the_marked_cells_red():
    images = np.zeros((2, 3, 4, 4), dtype=np.uint8)
    images[..., 1:3, 1:3] = 255
    mask = np.array([[True, False, False], [False, False, True]])
    picture = lp.tile_marked(images, mask, pad=1)
    assert picture.shape == (2 * 5 - 1, 3 * 5 - 1, 3)
    assert tuple(picture[0, 0]) == tuple(lp.HOLE_TINT.astype(np.uint8))  # background of a marked cell
    assert tuple(picture[0, 5]) == (0, 0, 0)  # background of an unmarked cell
    assert tuple(picture[1, 1]) == (255, 255, 255)  # ink stays white on red
    assert tuple(picture[4, 0]) == (255, 255, 255)  # padding


def test_dimension_spread_highlights_the_picked_dimension():
    codes = torch.tensor([[0.0, 1.0, 5.0], [2.0, 1.0, -5.0]])
    bars = lp.dimension_spread(codes, 2).data[0]
    assert list(bars.x) == ["z1", "z2", "z3"]
    assert list(bars.y) == pytest.approx([2 ** 0.5, 0.0, 50 ** 0.5])
    assert bars.marker.color[2] != bars.marker.color[0] == bars.marker.color[1]


@pytest.mark.skipif(not {"mnist_ae2", "mnist_vae2"} <= set(CATALOG), reason="needs mnist_ae2 and mnist_vae2")
def test_the_shipped_plain_ae_has_more_holes_than_the_vae():
    """Honest check on the real models. In each model's own spread (mean ± 3 std) the AE's grid has more points
    far from every held-out code than the VAE's. In the raw square [-3, 3]² it does not (the AE's dense core
    sits there); what shows there instead is that most AE codes lie outside it."""
    test = load_dataset("mnist", source="bundled").test
    codes = {name: load_checkpoint(CATALOG[name].path)[0].embed(test) for name in ("mnist_ae2", "mnist_vae2")}
    spread = {name: la.holes(c, *la.region_axes(c, "spread", 15)) for name, c in codes.items()}
    assert spread["mnist_ae2"].hole_fraction > spread["mnist_vae2"].hole_fraction
    assert spread["mnist_ae2"].mean_distance > spread["mnist_vae2"].mean_distance
    square = {name: la.holes(c, *la.region_axes(c, "square", 15)) for name, c in codes.items()}
    assert square["mnist_ae2"].codes_inside < 0.6 < 0.9 < square["mnist_vae2"].codes_inside


def test_grid_axes_follow_the_prior_or_the_codes():
    from models.autoencoders import build_model
    from models.config import ModelConfig

    codes = torch.randn(200, 2) * 7 + 3
    vae = build_model(ModelConfig(kind="vae", hidden=(8,), latent=2, input_shape=(1, 8, 8)))
    ae = build_model(ModelConfig(kind="ae", hidden=(8,), latent=2, input_shape=(1, 8, 8)))
    assert torch.equal(lp.grid_axes(vae, codes, 5)[0], gaussian_grid_axis(5))
    xs, ys = lp.grid_axes(ae, codes, 5)
    assert torch.equal(xs, code_range_axis(codes, 0, 5)) and torch.equal(ys, code_range_axis(codes, 1, 5))
