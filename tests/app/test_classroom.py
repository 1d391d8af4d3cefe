"""The pieces behind issue 11's classroom fixes that test without a browser: the decoded grid's axis labels, the
Holes comparison's sentences (each claim follows the numbers), and the Holes tab showing them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.analysis.holes_findings import Side, holes_explanation, like_for_like
from models.analysis.latent import REGIONS, Holes, holes, region_axes
from models.catalog import load_catalog
from tests.app.apptest import app_test
from ui.latent.axis_labels import MAX_TICKS, labelled_grid, tick_cells
from ui.pictures import enlarge, tile

CATALOG = {entry.name: entry for entry in load_catalog()}


# --- the decoded grid's axes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5, 8, 9, 15, 24, 25])
def test_tick_cells_label_the_ends_evenly_and_never_too_many(n):
    cells = tick_cells(n)
    assert cells[0] == 0 and cells[-1] == n - 1
    assert len(cells) <= MAX_TICKS + 1 and cells == sorted(set(cells))
    gaps = np.diff(cells)
    if len(gaps) > 1:
        assert gaps[:-1].min() == gaps[:-1].max()  # evenly spaced, but for the last step to the end
        assert gaps[-1] >= gaps[0] / 2  # the last label never crowds its neighbour


def _cells(rows=5, cols=5, side=28):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (rows, cols, side, side), dtype=np.uint8)


def test_labelled_grid_holds_the_tiled_grid_unchanged_with_labels_in_the_margins():
    cells = _cells()
    axis = np.linspace(-1.5, 1.5, 5)
    picture = labelled_grid(cells, axis, axis, factor=2)
    grid = enlarge(tile(cells.reshape(25, 28, 28), 5, pad=1), 2)
    assert picture.dtype == np.uint8 and picture.ndim == 2
    matches = [(y, x) for y in range(picture.shape[0] - grid.shape[0] + 1)
               for x in range(picture.shape[1] - grid.shape[1] + 1)
               if np.array_equal(picture[y:y + 4, x:x + 4], grid[:4, :4])
               and np.array_equal(picture[y:y + grid.shape[0], x:x + grid.shape[1]], grid)]
    assert len(matches) == 1
    top, left = matches[0]
    below, beside = picture[top + grid.shape[0]:], picture[:, :left]
    assert left > 30 and below.shape[0] > 30  # room for the labels
    assert (below < 128).sum() > 50 and (beside < 128).sum() > 50  # ink: ticks, numbers, z1 and z2


def test_labelled_grid_labels_follow_the_axis_values():
    cells = _cells()
    one = labelled_grid(cells, np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    other = labelled_grid(cells, np.linspace(-9, 9, 5), np.linspace(-1, 1, 5))
    assert one.shape[0] == other.shape[0]
    width = min(one.shape[1], other.shape[1])
    assert not np.array_equal(one[-40:, -width:], other[-40:, -width:])  # the z1 labels differ


# --- the Holes comparison's sentences -------------------------------------------------------------------------
def _holes(inside: float, empty: float) -> Holes:
    return Holes(codes_inside=inside, hole_fraction=empty, mean_distance=0.5, mask=np.zeros((15, 15), bool))


def _sides(ae_spread, ae_square, vae_spread, vae_square, ae_std=6.2, vae_std=1.3):
    ae = Side("the plain AE", {"spread": _holes(*ae_spread), "square": _holes(*ae_square)}, ae_std)
    vae = Side("the VAE", {"spread": _holes(*vae_spread), "square": _holes(*vae_square)}, vae_std)
    return ae, vae


def test_the_measured_flip_is_explained_by_how_much_of_each_model_the_square_holds():
    """The shipped models: 40% vs 34% of the grid empty in each one's own spread, 10% vs 16% in the square."""
    ae, vae = _sides((0.96, 0.40), (0.45, 0.10), (0.99, 0.34), (0.93, 0.16))
    text = " ".join(holes_explanation(ae, vae))
    assert "In each model's own spread, the plain AE has 40% of its grid on red and the VAE 34%" in text
    assert "holds 96% of the plain AE's held-out codes and 99% of the VAE's, so it compares like with like" in text
    assert "In the square [-3, 3]², the plain AE has 10% of its grid on red and the VAE 16%" in text
    assert "holds 45% of the plain AE's held-out codes and 93% of the VAE's, so it does not compare" in text
    assert "the hole radius of 0.5 is 0.08 std of the plain AE's codes but 0.38 of the VAE's" in text
    assert ("opposite orders; only each model's own spread compares like with like, and there the VAE leaves less "
            "of its code space empty") in text


def test_no_flip_no_claim_of_one_and_a_fair_square_is_called_fair():
    ae, vae = _sides((0.96, 0.40), (0.90, 0.30), (0.99, 0.34), (0.95, 0.20))
    text = " ".join(holes_explanation(ae, vae))
    assert "opposite orders" not in text and "does not compare" not in text
    assert text.count("compares like with like") == 2


def test_when_the_plain_ae_is_better_in_the_fair_region_the_text_says_so():
    ae, vae = _sides((0.97, 0.20), (0.40, 0.30), (0.98, 0.35), (0.95, 0.10))
    text = " ".join(holes_explanation(ae, vae))
    assert "there the plain AE leaves less of its code space empty" in text


def test_like_for_like_is_about_the_share_of_codes_each_region_holds():
    ae, vae = _sides((0.96, 0.4), (0.45, 0.1), (0.99, 0.34), (0.93, 0.16))
    assert like_for_like(ae, vae, "spread") and not like_for_like(ae, vae, "square")


@pytest.mark.skipif(not {"mnist_ae2", "mnist_vae2"} <= set(CATALOG), reason="needs the shipped 2-D models")
def test_the_holes_tab_shows_the_explanation_built_from_the_shipped_models():
    from models.checkpoint import load_checkpoint  # noqa: PLC0415
    from models.data import load_dataset  # noqa: PLC0415

    test = load_dataset("mnist", source="bundled").test
    sides = []
    for name, label in (("mnist_ae2", "the plain AE"), ("mnist_vae2", "the VAE")):
        model, _ = load_checkpoint(CATALOG[name].path)
        with torch.no_grad():
            codes = model.embed(test)
        stats = {region: holes(codes, *region_axes(codes, region, 15)) for region in REGIONS}
        sides.append(Side(label, stats, float(codes[:, :2].std(0).mean())))
    at = app_test()
    at.query_params.update(model="mnist_vae2", tab="Holes: AE vs VAE")
    at.run()
    at.switch_page("pages/latent.py")
    at.run()
    assert not at.exception
    shown = [i.value for i in at.info if i.value.startswith("**The two regions, compared.**")]
    assert shown == ["**The two regions, compared.** " + " ".join(holes_explanation(*sides))]
