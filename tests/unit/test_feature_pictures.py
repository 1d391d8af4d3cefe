"""The Hidden-unit features page's plain parts: its pictures (ui/features/plots.py, ui/pictures.py), its sentences
(models/analysis/feature_findings.py) against the numbers they are built from, and the per-unit maths
(models/analysis/unit_features.py)."""

import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.analysis.unit_features import max_activating_inputs, unit_features
from models.autoencoders import build_model
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.config import ModelConfig
from models.errors import ConfigError
from tests import ROOT
from ui.features.plots import (ABOVE_COLOUR, BELOW_COLOUR, TILE_STRETCH, config_summary, inverse_rgb, signed_uint8,
                               unit_grid)
from ui.pictures import percentile_stretch, to_uint8


def _single_layer_catalog() -> list[str]:
    names = []
    for entry in load_catalog():
        config = json.loads(entry.path.with_suffix(".json").read_text())["config"]
        if config["arch"] == "dense" and not config["hidden"]:
            names.append(entry.name)
    return names


SINGLE = _single_layer_catalog()
needs_pair = pytest.mark.skipif(not {"mnist_tied100", "mnist_untied100"} <= set(SINGLE),
                                reason="the tied/untied single-layer models are not in the catalog yet")


def catalog_model(name: str):
    return load_checkpoint(ROOT / "pretrained" / name)[0]


# --- plain helpers -------------------------------------------------------------------------------------------
def small_model(**options):
    torch.manual_seed(0)
    config = dict(hidden=(), latent=7, code_activation="sigmoid", input_shape=(1, 12, 10))
    return build_model(ModelConfig(**{**config, **options})).eval()


def test_max_activating_inputs_have_unit_norm_and_beat_other_unit_norm_inputs():
    model = small_model()
    weight = model.to_code.weight
    best = max_activating_inputs(weight)
    assert torch.allclose(best.norm(dim=1), torch.ones(7), atol=1e-6)
    others = F.normalize(torch.randn(500, weight.shape[1]), dim=1)
    with torch.no_grad():
        h_best = model.encode(best.reshape(7, 1, 12, 10)).diagonal()
        h_others = model.encode(others.reshape(500, 1, 12, 10))
    assert (h_best[None, :] >= h_others).all()


@pytest.mark.parametrize("tied", [True, False])
def test_unit_features_shapes_and_numbers_match_the_model(tied):
    model = small_model(tied=tied)
    features = unit_features(model)
    for array in (features.encoder, features.decoder, features.decoded, features.inverse, features.max_input):
        assert array.shape == (7, 1, 12, 10)
    assert features.undefined.shape == (7, 1, 12, 10) and features.undefined.dtype == bool
    with torch.no_grad():
        _, undefined = model.decode_inverse(torch.eye(7))
    np.testing.assert_allclose(features.undefined_percent, undefined.flatten(1).float().mean(1).numpy() * 100)
    np.testing.assert_allclose(features.weight_norms, model.to_code.weight.norm(dim=1).detach().numpy(),
                               rtol=1e-6)
    assert (features.tied_equal, features.tied_shared) == (tied, tied)
    if tied:
        np.testing.assert_allclose(features.cosine, 1.0, atol=1e-5)
        np.testing.assert_array_equal(features.encoder, features.decoder)
    else:
        assert abs(features.cosine.mean()) < 0.5  # two independent random initialisations


def test_unit_features_without_an_inverse_says_why_and_deep_models_are_refused():
    features = unit_features(small_model(code_activation="relu"))
    assert features.inverse is None and features.undefined_percent is None
    assert "sigmoid, tanh or identity" in features.inverse_error
    with pytest.raises(ConfigError, match="single-layer"):
        unit_features(small_model(hidden=(16,)))


def test_inverse_rgb_paints_undefined_pixels_and_stretches_only_the_defined_ones():
    values = np.array([[[-13.8, 0.5], [2.0, 13.8]]], dtype=np.float32)
    undefined = np.array([[[True, False], [False, True]]])
    rgb = inverse_rgb(values, undefined)
    assert rgb.shape == (1, 2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0, 0]) == BELOW_COLOUR and tuple(rgb[0, 1, 1]) == ABOVE_COLOUR
    assert tuple(rgb[0, 0, 1]) == (0, 0, 0) and tuple(rgb[0, 1, 0]) == (255, 255, 255)


def test_signed_uint8_puts_zero_at_mid_grey():
    picture = signed_uint8(np.array([[[[-2.0, 0.0, 1.0]]]]))
    assert picture.tolist() == [[[0, 128, 191]]]


def test_unit_grid_tiles_100_units_square_and_enlarges_for_a_projector():
    grey = np.zeros((100, 28, 28), dtype=np.uint8)
    assert unit_grid(grey, target=600).shape == (596, 596)  # 10×(28+2)−2 = 298, ×2
    assert unit_grid(np.zeros((100, 28, 28, 3), dtype=np.uint8), target=600).shape == (596, 596, 3)
    assert unit_grid(grey[:7], target=100).shape == (88, 88)  # 3×3 tile of 28 (+pad) = 88, factor 1


def test_config_summary_names_tying_and_penalties():
    assert "tied W' = Wᵀ" in config_summary(small_model(tied=True))
    summary = config_summary(small_model(sparsity="kl", sparsity_weight=3, contractive_weight=0.5))
    assert "untied" in summary and "KL sparsity ρ=0.05, weight 3" in summary
    assert "contractive weight 0.5" in summary


# --- the sentences, against the numbers they are built from -----------------------------------------------------------
def _pair_table(gaps, seed=0, rows=None):
    """A GapTable from (size, width, tied train, tied held-out, untied train, untied held-out) tuples."""
    from models.analysis.tied_untied import GapRow, GapTable  # noqa: PLC0415

    rows = list(rows or [])
    for size, width, tt, th, ut, uh in gaps:
        rows += [GapRow(width, size, True, 1, tt, th, 1, 1, seed), GapRow(width, size, False, 2, ut, uh, 1, 1, seed)]
    return GapTable(rows=rows, recipe={"seed": 0})


@pytest.mark.parametrize(("gaps", "verdict"), [
    ([(4500, 50, 100, 102, 90, 104), (500, 50, 90, 100, 80, 105)], "acts as a regulariser"),
    ([(4500, 50, 100, 102, 60, 65), (500, 50, 90, 100, 70, 95)], "a narrower gap is not a better model"),
    ([(4500, 50, 100, 110, 60, 65), (500, 50, 90, 120, 70, 95)], "do not support"),
    ([(4500, 50, 100, 102, 60, 65), (500, 50, 90, 120, 70, 95)], "acts as a regulariser only with 4,500 training"),
    ([(4500, 50, 100, 102, 60, 65), (4500, 100, 90, 120, 70, 95)], "mixed"),
])
def test_gap_findings_follow_the_numbers(gaps, verdict):
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    lines = gap_findings(_pair_table(gaps))
    assert verdict in lines[-1]
    smaller = sum((th - tt) < (uh - ut) for _, _, tt, th, ut, uh in gaps)
    assert f"in **{smaller} of 2** settings" in lines[0]
    assert "With 4,500 training digits the gaps are 50 units: tied" in lines[1]


def test_gap_findings_measure_the_seed_to_seed_spread_and_count_clear_differences():
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    main = _pair_table([(4500, 50, 100, 102, 60, 65), (500, 50, 90, 100, 80, 95)])  # untied − tied: 3 and 5
    repeat = _pair_table([(500, 50, 90, 101, 80, 92)], seed=1, rows=main.rows)  # seed 1: 1
    text = "\n".join(gap_findings(repeat))
    assert "retrained with seeds 0, 1, the 500-digit, 50-unit pair's untied − tied gap runs from 1.0 to 5.0, " \
           "a spread of 4.0" in text
    assert "1 of 2 settings differ in gap by more than that spread" in text  # 5 > 4, 3 < 4
    assert "Seed to seed" not in "\n".join(gap_findings(main))


def test_the_size_split_verdict_says_how_many_differences_beat_the_seed_spread():
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    # 4,500 digits: untied narrower at both widths; 500: tied narrower by 6 and by 1; seeds spread 3 at (500, 50)
    main = _pair_table([(4500, 50, 100, 105, 60, 62), (4500, 100, 100, 104, 60, 63),
                        (500, 50, 90, 110, 80, 106), (500, 100, 90, 100, 80, 91)])
    table = _pair_table([(500, 50, 90, 110, 80, 103)], seed=1, rows=main.rows)
    verdict = gap_findings(table)[-1]
    assert verdict.startswith("**So:** tying acts as a regulariser only with 500 training digits, where it narrows "
                              "the gap at every width (by more than the seed-to-seed spread at 1 of 2 widths); "
                              "with 4,500 the untied model has the smaller gap at every width.")


def test_gap_findings_say_whether_a_smaller_training_set_widens_the_gap():
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    grows = gap_findings(_pair_table([(4500, 50, 100, 102, 90, 94), (500, 50, 90, 100, 80, 100)]))
    assert "from 4,500 to 500 digits grows the mean gap (3.0 → 15.0)" in "\n".join(grows)
    shrinks = gap_findings(_pair_table([(4500, 50, 100, 120, 90, 110), (500, 50, 90, 92, 80, 82)]))
    assert "does not grow the mean gap (20.0 → 2.0)" in "\n".join(shrinks)


def test_decoding_sentences_and_table_use_the_scores():
    from models.analysis.decodings import compare_decodings  # noqa: PLC0415
    from models.analysis.feature_findings import decoding_findings, decoding_headline, decoding_table, decoding_verdict  # noqa: PLC0415

    model = small_model(latent=3, input_shape=(1, 4, 4))
    with torch.no_grad():
        model.to_code.weight.mul_(40)  # saturates some codes in float32
    result = compare_decodings(model, torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(0)))
    rows = {r["decoding"]: r for r in decoding_table(result)}
    transpose, learned, pinv = (result.scores[k] for k in ("transpose", "learned", "pinv"))
    assert rows["Wᵀ(f⁻¹(h) − b)"]["images scored"] == "30 / 30"
    assert rows["Wᵀ(f⁻¹(h) − b)"]["clipped at ε = 1e-06"] == \
        f"{transpose.clipped_images} / 30 images ({transpose.clipped_values:,} values)"
    assert rows["Wᵀ(f⁻¹(h) − b)"]["PSNR (dB)"] == f"{transpose.psnr:.1f}"
    sat, clipped = result.float32_saturated, result.code_clipped_images
    assert sat > 0 and clipped >= sat
    assert decoding_headline(result) == (
        f"Decoding with g: **{learned.psnr:.1f} dB** on all 30 held-out images; on the same 30, Wᵀ(f⁻¹(h) − b): "
        f"**{transpose.psnr:.1f} dB**, W⁺(f⁻¹(h) − b): **{pinv.psnr:.1f} dB** ({clipped} codes clipped at "
        f"ε = 1e-06).")
    text = "\n".join(decoding_findings(result, "sigmoid"))
    assert f"(float32), {sat} of 30 codes have a unit at exactly 0 or 1" in text
    assert f"{clipped} of 30 codes had one ({transpose.clipped_values:,} unit values)" in text
    assert f"{100 * float(result.outside_share.mean()):.1f}%" in text
    assert "only the learned decoder" in decoding_verdict([result])


def test_a_figure_over_a_subset_names_the_subset_and_its_size():
    from dataclasses import replace  # noqa: PLC0415

    from models.analysis.decodings import compare_decodings  # noqa: PLC0415
    from models.analysis.feature_findings import decoding_headline  # noqa: PLC0415

    result = compare_decodings(small_model(latent=3, input_shape=(1, 4, 4)), torch.rand(10, 1, 4, 4))
    used = torch.tensor([True] * 7 + [False] * 3)
    scores = {**result.scores, "pinv": replace(result.scores["pinv"], used=used)}
    text = decoding_headline(replace(result, scores=scores))
    t, p = result.scores["transpose"].psnr, result.scores["pinv"].psnr
    assert (f"held-out images; Wᵀ(f⁻¹(h) − b): **{t:.1f} dB** on the same 10, W⁺(f⁻¹(h) − b): **{p:.1f} dB** on "
            f"only the 7 of 10 held-out images that came out finite") in text  # each path names its own images


def test_the_reactivation_sentence_says_which_path_shows_the_features_from_the_correlations():
    from models.analysis.feature_findings import reactivation_headline  # noqa: PLC0415
    from models.analysis.reactivation import reactivation  # noqa: PLC0415

    r = reactivation(small_model(latent=7, input_shape=(1, 12, 10)))
    through_g, inverse = r.correlation("learned"), r.correlation("transpose")
    assert through_g < inverse  # a sigmoid code: every off unit adds f⁻¹(ε) = −13.8 times its row
    text = reactivation_headline(r)
    assert text.startswith(f"**g shows the features:** through g two units' pictures correlate **{through_g:.2f}**, "
                           f"through Wᵀ(f⁻¹(eᵢ) − b) **{inverse:.2f}** (1 = identical)")
    assert "f⁻¹ turns each off unit's 1e-06 into -13.8" in text
    tanh = reactivation(small_model(latent=7, code_activation="tanh", input_shape=(1, 12, 10)))
    # tanh: f⁻¹(0) = 0, so the off units add nothing and each inverse picture is unit i's own row (seeded model)
    assert tanh.correlation("transpose") < tanh.correlation("learned")
    text = reactivation_headline(tanh)
    assert text.startswith("**Wᵀ(f⁻¹(eᵢ) − b) shows the features:**")
    assert "f⁻¹(0) = 0.0, so the off units add nothing and picture i is 7.25·wᵢ − Wᵀb" in text
    assert f"**{tanh.correlation('transpose'):.2f}**, through g **{tanh.correlation('learned'):.2f}**" in text


def test_curve_summary_without_history_says_it_is_not_recorded():
    from models.analysis.feature_findings import curve_summary  # noqa: PLC0415
    from models.analysis.tied_untied import Curve  # noqa: PLC0415

    assert "not recorded" in curve_summary("T", {"epochs": 40}, None, 10) and "ran 40 epochs" in \
        curve_summary("T", {"epochs": 40}, None, 10)
    curve = Curve(epochs=[1, 2], train=[5.0, 4.0], heldout=[6.0, 6.5], best_epoch=None)
    expected = "**T** (1,234 parameters): last epoch 2 of 2, train 4.0 / held-out 6.5."
    assert curve_summary("T", {}, curve, 1234) == expected


# --- the new pictures -------------------------------------------------------------------------------------------------
def test_painted_rgb_clips_finite_pixels_and_paints_inf_and_nan():
    from ui.features.plots import NAN_COLOUR, painted_rgb  # noqa: PLC0415

    values = np.array([[[[-3.0, 0.5, 2.0, np.inf, -np.inf, np.nan]]]])
    rgb = painted_rgb(values)
    assert rgb.shape == (1, 1, 6, 3)
    assert [tuple(p) for p in rgb[0, 0]] == [(0, 0, 0), (128, 128, 128), (255, 255, 255), ABOVE_COLOUR,
                                               BELOW_COLOUR, NAN_COLOUR]
    stretched = painted_rgb(np.array([[[[10.0, 20.0, np.nan]]]]), stretch=True)
    assert [tuple(p) for p in stretched[0, 0]] == [(0, 0, 0), (255, 255, 255), NAN_COLOUR]


def test_rgb_rows_stacks_rows_and_enlarges():
    from ui.features.plots import rgb_rows  # noqa: PLC0415

    rows = [np.zeros((10, 28, 28, 3), dtype=np.uint8), np.full((10, 28, 28, 3), 255, dtype=np.uint8)]
    picture = rgb_rows(rows, per_row=4, target=240)
    assert picture.shape == (2 * (2 * 28 + 2), 2 * (4 * 30 - 2), 3)  # 2 rows of 4, zoomed ×2
    assert picture[0, 0].tolist() == [0, 0, 0] and picture[-1, -1].tolist() == [255, 255, 255]


# --- the percentile stretch of weight and decode tiles (ui/pictures.py) ---------------------------------------------
def _outlier_tile() -> np.ndarray:
    """A 28×28 tile whose values run smoothly over −1…1, with one border pixel 50 times larger."""
    y, x = np.mgrid[0:28, 0:28] / 27.0
    tile = np.sin(6 * x) * np.cos(4 * y)
    tile[0, 0] = 50.0
    return tile


def test_percentile_stretch_keeps_the_interior_spread_despite_one_huge_outlier():
    tile = _outlier_tile()
    inside = (slice(3, 25), slice(3, 25))
    min_max = to_uint8(tile, normalise=True)
    robust = to_uint8(tile, normalise="percentile")
    assert min_max.dtype == robust.dtype == np.uint8 and robust.shape == (28, 28)
    # min…max: the outlier sets the scale and the interior is squeezed into a few grey levels around 0 …
    assert min_max[0, 0] == 255 and int(np.ptp(min_max[inside])) < 12
    # … the 1st–99th percentile stretch clips the outlier and spreads the interior over most of 0…255
    assert robust[0, 0] == 255 and int(np.ptp(robust[inside])) > 200
    assert robust[inside].astype(float).std() > 5 * min_max[inside].astype(float).std()
    assert TILE_STRETCH == "its own 1st–99th percentile"


def test_percentile_stretch_is_per_tile_and_scale_free():
    tile = _outlier_tile()
    batch = np.stack([tile, 1000.0 * tile - 7.0, -tile])[:, None]  # N×1×H×W, as the grids pass them
    pictures = to_uint8(batch, normalise="percentile")
    assert pictures.shape == (3, 28, 28)
    assert np.array_equal(pictures[0], pictures[1])  # each tile its own scale and offset
    assert np.abs(pictures[2].astype(int) + pictures[0] - 255).max() <= 1  # a negated tile is the negative
    assert to_uint8(tile, normalise="percentile", percentile=0.0).tolist() == to_uint8(tile, normalise=True).tolist()


@pytest.mark.parametrize("value", [0.0, 3.5, -1e6])
def test_percentile_stretch_of_a_constant_tile_is_flat_mid_grey_without_dividing_by_zero(value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "divide by zero" or "invalid value" on the way
        picture = to_uint8(np.full((2, 1, 28, 28), value, dtype=np.float32), normalise="percentile")
    assert picture.shape == (2, 28, 28) and (picture == 128).all()


def test_percentile_stretch_survives_nan_and_inf():
    tile = _outlier_tile()
    tile[5, 5], tile[6, 6], tile[7, 7] = np.nan, np.inf, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        picture = to_uint8(tile, normalise="percentile")
        empty = to_uint8(np.full((28, 28), np.nan), normalise="percentile")  # no finite pixel at all
        stretched = percentile_stretch(np.array([[[np.inf, -np.inf], [np.nan, np.nan]]]))
    assert picture.dtype == np.uint8
    assert picture[5, 5] == 0 and picture[6, 6] == 255 and picture[7, 7] == 0  # NaN black, ±inf the extremes
    assert int(np.ptp(picture[10:20, 10:20])) > 200  # the finite pixels keep their percentile scale
    assert (empty == 0).all()
    assert stretched[0, 0, 0] == 1.0 and stretched[0, 0, 1] == 0.0 and np.isnan(stretched[0, 1]).all()


def test_to_uint8_keeps_min_max_by_default_and_refuses_an_unknown_stretch():
    tile = _outlier_tile()
    assert to_uint8(tile, normalise=True).min() == 0 and to_uint8(tile, normalise=True).max() == 255
    assert to_uint8(np.array([[0.0, 0.5, 2.0]])).tolist() == [[0, 128, 255]]  # no stretch: clipped to [0, 1]
    with pytest.raises(ValueError, match="percentile"):
        to_uint8(tile, normalise="robust")


def test_painted_rgb_stretch_clips_a_finite_outlier_and_still_paints_non_finite_pixels():
    from ui.features.plots import painted_rgb  # noqa: PLC0415

    tile = _outlier_tile()
    tile[7, 7] = np.inf
    rgb = painted_rgb(tile[None, None], stretch=True)
    assert tuple(rgb[0, 7, 7]) == ABOVE_COLOUR and tuple(rgb[0, 0, 0]) == (255, 255, 255)
    assert int(np.ptp(rgb[0, 10:20, 10:20, 0])) > 200


@needs_pair
def test_untied_encoder_rows_get_more_interior_contrast_than_with_min_max():
    """The converged untied model grew large weights on the rarely lit border pixels: with min…max its encoder
    tiles were flat grey inside; the percentile stretch gives the centre 22×22 pixels a real spread."""
    weights = catalog_model("mnist_untied100").to_code.weight.detach().reshape(-1, 1, 28, 28)
    inside = (slice(None), slice(3, 25), slice(3, 25))
    min_max = to_uint8(weights, normalise=True)[inside].reshape(len(weights), -1).astype(float).std(1)
    robust = to_uint8(weights, normalise="percentile")[inside].reshape(len(weights), -1).astype(float).std(1)
    assert np.median(robust) > 1.5 * np.median(min_max)
    assert (robust >= min_max - 1).all()  # no tile loses contrast


# --- neighbouring-pixel correlation: why an untied encoder's rows look like noise ---------------------------------
def test_neighbour_correlation_of_a_hand_built_tile():
    from models.analysis.unit_features import neighbour_correlation  # noqa: PLC0415

    # pairs (0,1), (2,3) across and (0,2), (1,3) down: first [0,2,0,1], second [1,3,2,3], r = 2.25 / 2.75
    assert neighbour_correlation(np.array([[[0.0, 1.0], [2.0, 3.0]]])) == pytest.approx(9 / 11)
    checker = np.indices((6, 6)).sum(axis=0) % 2  # every neighbour is the opposite: −1
    ramp = np.add.outer(np.arange(6.0), np.arange(6.0))  # every pair is (v, v + 1): +1
    assert neighbour_correlation(checker[None].astype(float)) == pytest.approx(-1.0)
    assert neighbour_correlation(ramp[None]) == pytest.approx(1.0)
    assert neighbour_correlation(np.stack([checker, ramp]).astype(float)) == pytest.approx(0.0, abs=1e-12)  # the mean
    assert neighbour_correlation(np.stack([checker, ramp])[:, None]) == neighbour_correlation(np.stack([checker, ramp]))
    # a flat tile has no correlation: left out, and nan when every tile is flat
    assert neighbour_correlation(np.stack([np.ones((6, 6)), checker])) == pytest.approx(-1.0)
    assert np.isnan(neighbour_correlation(np.zeros((2, 6, 6))))
    with pytest.raises(ValueError, match="tiles must be"):
        neighbour_correlation(np.zeros(6))


@needs_pair
def test_the_shipped_untied_encoder_rows_are_rougher_than_its_columns_and_the_tied_rows():
    from models.analysis.unit_features import neighbour_correlation  # noqa: PLC0415

    tied, untied = unit_features(catalog_model("mnist_tied100")), unit_features(catalog_model("mnist_untied100"))
    rows, columns = neighbour_correlation(untied.encoder), neighbour_correlation(untied.decoder)
    assert rows < columns / 2 and rows < neighbour_correlation(tied.encoder)
    assert neighbour_correlation(tied.encoder) == neighbour_correlation(tied.decoder)  # W′ = Wᵀ: the same tiles
