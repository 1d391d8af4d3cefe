"""models/analysis/decodings.py (the decodings of question b), models/analysis/unit_features.py helpers, models/analysis/tied_untied.py
(tied against untied) and the slerp of models.autoencoders.interpolate_codes, each against numbers worked by hand."""

from __future__ import annotations

import copy
import json
import math
from unittest import mock

import pytest
import torch

from models.analysis import decodings as an
from models.analysis.tied_untied import (
    GAP_FORMAT,
    GapRow,
    GapTable,
    gap_document,
    learning_curve,
    load_gap_table,
    parameter_count,
    train_until_stopped,
)
from models.autoencoders import build_model, interpolate_codes
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.config import ModelConfig, TrainConfig
from models.errors import CheckpointError, ConfigError
from tests import ROOT

CATALOG = {entry.name: entry for entry in load_catalog()}


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def build_small(**options):
    """A model on images smaller than the app accepts (it refuses sides under 4 pixels; the maths does not care):
    validation is skipped for these hand-worked cases only."""
    with mock.patch.object(ModelConfig, "validate", lambda self: self):
        model = build_model(ModelConfig(**options)).eval()
    return model.requires_grad_(False)


def tiny(weight, bias, dec_weight=None, dec_bias=None, activation="sigmoid", tied=False):
    """A single-layer model on 2-pixel images (1×1×2) with the given weights."""
    units = len(weight)
    model = build_small(hidden=(), latent=units, code_activation=activation, tied=tied, input_shape=(1, 1, 2))
    with torch.no_grad():
        model.to_code.weight.copy_(torch.tensor(weight))
        model.to_code.bias.copy_(torch.tensor(bias))
        if not tied:
            model.from_code.weight.copy_(torch.tensor(dec_weight))
        model.from_code.bias.copy_(torch.tensor(dec_bias))
    return model


# W = [2, −1], b = 0.5, W′ = [1, 3]ᵀ, b′ = [−0.2, −1.5]; x = (0.3, 0.8): Wx = −0.2, Wx + b = 0.3, h = σ(0.3).
ONE_UNIT = dict(weight=[[2.0, -1.0]], bias=[0.5], dec_weight=[[1.0], [3.0]], dec_bias=[-0.2, -1.5])
X = torch.tensor([[[[0.3, 0.8]]]])


# --- each decoding by hand: 2 inputs, 1 unit ----------------------------------------------------------------------
def test_learned_decoding_is_g_of_the_decoders_preactivation():
    model = tiny(**ONE_UNIT)
    h = model.encode(X)
    assert float(h) == pytest.approx(sigmoid(0.3), rel=1e-6)
    expected = [sigmoid(sigmoid(0.3) - 0.2), sigmoid(3 * sigmoid(0.3) - 1.5)]
    assert an.decode_learned(model, h).flatten().tolist() == pytest.approx(expected, rel=1e-6)


def test_transpose_decoding_is_w_transpose_times_wx():
    model = tiny(**ONE_UNIT)
    h = model.encode(X)
    # logit(h) − b = Wx = −0.2; Wᵀ(−0.2) = (−0.4, 0.2)
    assert an.decode_transpose(model, h).flatten().tolist() == pytest.approx([-0.4, 0.2], abs=1e-6)


def test_pinv_decoding_divides_by_the_squared_norm_of_the_row():
    model = tiny(**ONE_UNIT)
    h = model.encode(X)
    # W⁺ = Wᵀ/‖W‖² = (2, −1)/5, so W⁺(−0.2) = (−0.08, 0.04)
    assert an.decode_pinv(model, h).flatten().tolist() == pytest.approx([-0.08, 0.04], abs=1e-6)


def test_output_inverse_is_the_logit_of_the_decoders_preactivation_and_nan_outside_0_1():
    model = tiny(**ONE_UNIT)
    h = model.encode(X)
    pre = [sigmoid(0.3) - 0.2, 3 * sigmoid(0.3) - 1.5]  # 0.374 and 0.223: both inside (0, 1)
    assert an.decode_output_inverse(model, h).flatten().tolist() == pytest.approx([logit(p) for p in pre], rel=1e-5)
    outside = tiny(**{**ONE_UNIT, "dec_bias": [-1.0, 0.25]})  # pre = (−0.43, 1.97): no logit
    assert torch.isnan(an.decode_output_inverse(outside, h)).all()


def test_two_unit_decodings_by_hand():
    # W = [[1, 0], [1, 1]], b = 0: Wx = (x1, x1 + x2). Square and invertible, so W⁺ = W⁻¹ and recovers x.
    model = tiny(weight=[[1.0, 0.0], [1.0, 1.0]], bias=[0.0, 0.0], dec_weight=[[1.0, 0.0], [0.0, 1.0]],
                 dec_bias=[0.0, 0.0])
    x = torch.tensor([[[[0.25, 0.5]]]])
    h = model.encode(x)
    # Wᵀ(Wx) = (x1 + (x1 + x2), x1 + x2) = (1.0, 0.75)
    assert an.decode_transpose(model, h).flatten().tolist() == pytest.approx([1.0, 0.75], abs=1e-6)
    assert an.decode_pinv(model, h).flatten().tolist() == pytest.approx([0.25, 0.5], abs=1e-6)
    assert an.outside_row_space_share(model.to_code.weight, x).item() == pytest.approx(0.0, abs=1e-12)


def test_inverse_decodings_refuse_a_relu_code_or_a_deep_model():
    relu = build_small(hidden=(), latent=3, code_activation="relu", input_shape=(1, 1, 2))
    deep = build_small(hidden=(4,), latent=3, code_activation="sigmoid", input_shape=(1, 1, 2))
    for model in (relu, deep):
        with pytest.raises(ConfigError, match="single-layer dense model with a sigmoid, tanh or identity"):
            an.compare_decodings(model, torch.rand(2, 1, 1, 2))


# --- the pseudo-inverse and W's row space ----------------------------------------------------------------------------
def test_pinv_recovers_an_image_in_the_row_space_exactly_and_nothing_outside_it():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(), latent=3, code_activation="sigmoid", input_shape=(1, 4, 4))).eval()
    weight = model.to_code.weight.detach()
    inside = (torch.tensor([[0.3, -0.2, 0.1], [0.05, 0.1, -0.3]]) @ weight).reshape(2, 1, 4, 4)  # x = Wᵀa
    recovered = an.decode_pinv(model, model.encode(inside))
    assert torch.allclose(recovered, inside, atol=1e-5)
    assert torch.allclose(an.outside_row_space_share(weight, inside), torch.zeros(2, dtype=torch.float64), atol=1e-9)
    # the transpose is not an inverse: it misses the same x
    assert (an.decode_transpose(model, model.encode(inside)) - inside).abs().max() > 0.05
    # x at right angles to every row: all of it lies outside, and W⁺ returns zero
    basis = torch.linalg.svd(weight.double(), full_matrices=True).Vh[3:]  # the null space of W
    orthogonal = basis[0].float().reshape(1, 1, 4, 4)
    assert an.outside_row_space_share(weight, orthogonal).item() == pytest.approx(1.0, abs=1e-6)
    assert an.row_space_projection(weight, orthogonal).abs().max() < 1e-5


def test_singular_values_and_rank():
    weight = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    assert an.singular_values(weight).tolist() == pytest.approx([3.0, 0.5])
    assert an.rank(weight) == 2 and an.rank(torch.tensor([[1.0, 2.0], [2.0, 4.0]])) == 1


# --- saturation, non-finite images and the scores ---------------------------------------------------------------------
def test_saturation_counts_codes_with_a_unit_exactly_on_the_edge():
    h = torch.tensor([[0.5, 1.0], [0.2, 0.3], [0.0, 0.4], [1.0, 0.0]])
    assert an.saturated(h, "sigmoid").tolist() == [True, False, True, True]
    assert an.saturated(torch.tensor([[-1.0, 0.0], [0.9, 0.1]]), "tanh").tolist() == [True, False]
    assert not an.saturated(torch.tensor([[1e6, -1e6]]), "identity").any()


def test_a_code_built_to_saturate_makes_the_inverse_decodings_inf_nan_and_is_counted():
    # W·x + b = 40 for the first image: σ(40) rounds to exactly 1.0 in float32; the second stays inside.
    model = tiny(weight=[[100.0, -100.0]], bias=[0.0], dec_weight=[[1.0], [1.0]], dec_bias=[-0.5, -0.5])
    x = torch.tensor([[[[0.6, 0.2]]], [[[0.5, 0.49]]]])
    h = model.encode(x)
    assert h[0].item() == 1.0 and 0 < h[1].item() < 1
    result = an.compare_decodings(model, x)
    for name in ("transpose", "pinv"):
        score = result.scores[name]
        assert (score.saturated_codes, score.nonfinite_images, score.finite_images) == (1, 1, 1), name
        assert not torch.isfinite(result.images[name][0]).any() and torch.isfinite(result.images[name][1]).all()
    assert result.scores["learned"].saturated_codes == 1 and result.scores["learned"].nonfinite_images == 0


def test_score_by_hand_clips_to_0_1_and_leaves_non_finite_images_out():
    x = torch.tensor([[1.0, 0.0], [0.5, 0.5], [1.0, 1.0]])
    x_hat = torch.tensor([[1.5, 0.25], [0.5, 0.75], [float("nan"), 1.0]])
    score = an.score(x, x_hat, torch.tensor([False, False, True]))
    assert (score.images, score.finite_images, score.nonfinite_images, score.saturated_codes) == (3, 2, 1, 1)
    assert score.nonfinite_pixels == pytest.approx(1 / 6)
    assert score.outside_unit == pytest.approx(1 / 4)  # 1.5 of the four finite-image pixels
    # clipped: (1, 0.25) and (0.5, 0.75); ½‖x − x̂‖² = ½·0.0625 and ½·0.0625
    assert score.half_squared == pytest.approx(0.03125)
    bce_1 = -math.log(1 - 1e-7) - math.log(0.75)
    bce_2 = -(0.5 * math.log(0.5) + 0.5 * math.log(0.5)) - (0.5 * math.log(0.75) + 0.5 * math.log(0.25))
    assert score.bce == pytest.approx((bce_1 + bce_2) / 2, rel=1e-6)
    psnr_1, psnr_2 = 10 * math.log10(1 / (0.0625 / 2)), 10 * math.log10(1 / (0.0625 / 2))
    assert score.psnr == pytest.approx((psnr_1 + psnr_2) / 2)
    assert (score.low, score.high) == (0.25, 1.5)
    nothing = an.score(x[:1], torch.full((1, 2), float("inf")), torch.tensor([True]))
    assert nothing.bce is None and nothing.psnr is None and nothing.low is None and nothing.nonfinite_images == 1


def test_psnr_of_a_perfect_match_is_capped():
    assert an.psnr(torch.tensor([0.0, 0.01])).tolist() == pytest.approx([an.PSNR_CAP, 20.0])


def test_learned_row_matches_the_models_own_loss_on_a_shipped_model():
    if "mnist_tied100" not in CATALOG:
        pytest.skip("the tied single-layer model is not shipped")
    from models.data import load_dataset  # noqa: PLC0415

    model, _ = load_checkpoint(CATALOG["mnist_tied100"].path)
    x = load_dataset("mnist", source="bundled").test[:100]
    result = an.compare_decodings(model, x)
    assert result.scores["learned"].bce == pytest.approx(an.held_out_recon(model, x), rel=1e-4)
    assert result.rank == 100 and len(result.singular_values) == 100
    # The trained model saturates some unit of nearly every digit in float32, so the algebra is checked on a copy
    # with its encoder scaled down: with every unit well inside (0, 1), W⁺(f⁻¹(h) − b) is the projection onto
    # W's row space.
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.to_code.weight.mul_(0.4)
        model.to_code.bias.mul_(0.4)
    result = an.compare_decodings(model, x)
    h = model.embed(x)
    inside = ((h > 1e-5) & (h < 1 - 1e-5)).all(1)
    projection = an.row_space_projection(model.to_code.weight, x)
    assert inside.sum() > 10 and torch.allclose(result.images["pinv"][inside], projection[inside], atol=2e-3)
    # near the edge float32 rounding of h, blown up by f⁻¹, moves it further: that is what rounding_error shows
    finite = torch.isfinite(result.images["pinv"].flatten(1)).all(1)
    error = (result.images["pinv"] - projection).flatten(1).abs().amax(1)
    assert torch.equal(result.rounding_error[finite], error[finite]) and result.rounding_error[~finite].isnan().all()
    near = ~inside & finite
    assert result.rounding_error[near].max() > 10 * result.rounding_error[inside].max()
    assert result.rounding_worse_than(0.0) == int(finite.sum())
    assert result.worst_rounding == float(error[finite].max())


# --- reactivation -----------------------------------------------------------------------------------------------------
def test_one_hot_codes_have_no_inverse_and_softened_ones_decode_by_hand():
    model = tiny(weight=[[1.0, 2.0], [0.5, -1.0]], bias=[0.1, -0.2], dec_weight=[[1.0, 0.0], [0.0, 1.0]],
                 dec_bias=[0.0, 0.0])
    r = an.reactivation(model, eps=0.01)
    assert r.onehot_inverse_finite_codes == 0 and r.onehot_transpose_nonfinite == 2
    assert r.soft_code_values == pytest.approx((0.99, 0.01))
    # s₀ = (0.99, 0.01): f⁻¹(s₀) − b = (logit .99 − 0.1, logit .01 + 0.2); Wᵀ(·) = a·(1, 2) + c·(0.5, −1)
    a, c = logit(0.99) - 0.1, logit(0.01) + 0.2
    assert r.soft_transpose[0].flatten().tolist() == pytest.approx([a + 0.5 * c, 2 * a - c], rel=1e-5)
    assert r.soft_learned[0].flatten().tolist() == pytest.approx([sigmoid(0.99), sigmoid(0.01)], rel=1e-6)
    assert r.onehot_learned[1].flatten().tolist() == pytest.approx([0.5, sigmoid(1.0)], rel=1e-6)
    with pytest.raises(ConfigError, match="softening"):
        an.reactivation(model, eps=0.7)


def test_softened_codes_stay_inside_each_activations_range():
    assert torch.allclose(an.softened_codes(2, "sigmoid", 0.01), torch.tensor([[0.99, 0.01], [0.01, 0.99]]))
    assert torch.allclose(an.softened_codes(2, "tanh", 0.01), torch.tensor([[0.99, 0.0], [0.0, 0.99]]))
    assert an.softened_codes(2, "identity", 0.01).tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_mean_pairwise_correlation():
    same = torch.tensor([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [0.0, 2.0, 4.0]])
    assert an.mean_pairwise_correlation(same) == pytest.approx(1.0)
    assert an.mean_pairwise_correlation(torch.tensor([[0.0, 1.0], [1.0, 0.0]])) == pytest.approx(-1.0)
    assert an.mean_pairwise_correlation(torch.tensor([[0.0, float("nan")], [1.0, 0.0]])) is None


# --- slerp ------------------------------------------------------------------------------------------------------------
def _pairs(n: int = 1000, seed: int = 0):
    """Random pairs of many kinds: any direction, nearly opposite, nearly equal, very different norms."""
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        dim = [2, 3, 16, 100][i % 4]
        z0 = torch.randn(dim, generator=g) * 10 ** float(torch.empty(1).uniform_(-2, 2, generator=g))
        kind = i % 5
        if kind == 0:
            z1 = torch.randn(dim, generator=g) * 10 ** float(torch.empty(1).uniform_(-2, 2, generator=g))
        elif kind == 1:  # nearly opposite
            z1 = -z0 * float(torch.empty(1).uniform_(0.1, 10, generator=g)) + 1e-4 * torch.randn(dim, generator=g)
        elif kind == 2:  # exactly opposite
            z1 = -2.5 * z0
        elif kind == 3:  # nearly equal
            z1 = z0 + 1e-6 * torch.randn(dim, generator=g)
        else:  # same direction, another norm
            z1 = z0 * float(torch.empty(1).uniform_(0.01, 100, generator=g))
        yield z0, z1


def test_slerp_midpoint_norm_stays_within_the_endpoints_range_over_1000_seeded_pairs():
    worst = 0.0
    for z0, z1 in _pairs():
        path = interpolate_codes(z0, z1, 9, "slerp")
        assert torch.isfinite(path).all()
        low, high = sorted([z0.norm().item(), z1.norm().item()])
        mid = path[4].norm().item()
        worst = max(worst, mid / high - 1, 1 - mid / low)
        assert low * 0.99 <= mid <= high * 1.01, (z0, z1, mid)
        assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    assert worst < 0.01


def test_slerp_turns_at_a_constant_rate_and_moves_the_norm_linearly():
    z0, z1 = torch.tensor([2.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, -4.0])
    path = interpolate_codes(z0, z1, 5, "slerp")
    assert path.norm(dim=1).tolist() == pytest.approx([2.0, 2.5, 3.0, 3.5, 4.0], abs=1e-5)
    unit = path / path.norm(dim=1, keepdim=True)
    steps = torch.arccos((unit[1:] * unit[:-1]).sum(1).clamp(-1, 1))
    assert steps.tolist() == pytest.approx([math.pi / 8] * 4, abs=1e-5)
    # exactly opposite: still a half circle of constant norm, through a direction at right angles
    half = interpolate_codes(torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 0.0]), 3, "slerp")
    assert half[1].norm().item() == pytest.approx(1.0) and abs(half[1][0].item()) < 1e-6


def test_slerp_of_the_shipped_2d_vae_held_out_pairs_never_leaves_the_endpoints_range():
    if "mnist_vae2" not in CATALOG:
        pytest.skip("the 2-D VAE is not shipped")
    from models.data import load_dataset  # noqa: PLC0415

    model, _ = load_checkpoint(CATALOG["mnist_vae2"].path)
    codes = model.embed(load_dataset("mnist", source="bundled").test)
    g = torch.Generator().manual_seed(1)
    pairs = torch.randint(len(codes), (1000, 2), generator=g)
    for a, b in pairs.tolist():
        mid = interpolate_codes(codes[a], codes[b], 3, "slerp")[1].norm().item()
        low, high = sorted([codes[a].norm().item(), codes[b].norm().item()])
        assert low * 0.99 <= mid <= high * 1.01


# --- tied against untied ----------------------------------------------------------------------------------------------
def test_parameter_count_counts_a_tied_matrix_once():
    tied = build_model(ModelConfig(hidden=(), latent=100, code_activation="sigmoid", tied=True))
    untied = build_model(ModelConfig(hidden=(), latent=100, code_activation="sigmoid", tied=False))
    assert parameter_count(tied) == 784 * 100 + 100 + 784
    assert parameter_count(untied) == 2 * 784 * 100 + 100 + 784


def test_learning_curve_reads_the_history_and_says_none_when_absent_or_broken():
    history = [{"epoch": e, "train_loss": 10.0 - e, "heldout_loss": 12.0 - e + (e == 3) * 5, "terms": {}}
               for e in (1, 2, 3)]
    curve = learning_curve({"history": history, "best_epoch": 2})
    assert curve.epochs == [1, 2, 3] and curve.train == [9.0, 8.0, 7.0] and curve.heldout == [11.0, 10.0, 14.0]
    assert curve.best_epoch == 2
    assert learning_curve({"history": history, "best_epoch": 9}).best_epoch is None  # not an epoch it ran
    assert learning_curve({}) is None and learning_curve({"history": []}) is None
    assert learning_curve({"history": [{"epoch": 1}]}) is None
    assert learning_curve({"history": [{"epoch": 1, "train_loss": float("nan"), "heldout_loss": 1.0}]}) is None


def test_train_until_stopped_keeps_the_best_held_out_epoch_and_stops_after_patience():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(), latent=8, code_activation="sigmoid", input_shape=(1, 4, 4)))
    g = torch.Generator().manual_seed(0)
    train_x, heldout_x = torch.rand(12, 1, 4, 4, generator=g), torch.rand(40, 1, 4, 4, generator=g)
    seen = []
    run = train_until_stopped(model, train_x, heldout_x, TrainConfig(epochs=400, batch_size=4, lr=0.05),
                              patience=3, report=seen.append)
    heldout = [s["heldout_loss"] for s in seen]
    assert run.epochs_run == len(seen)
    assert run.best_epoch == 1 + heldout.index(min(heldout)) and run.heldout_loss == min(heldout)
    if run.epochs_run < 400:  # stopped early: exactly `patience` epochs after the best
        assert run.epochs_run == run.best_epoch + 3 and "no held-out improvement for 3 epochs" in run.stopped
    assert run.gap == pytest.approx(run.heldout_loss - run.train_loss)
    assert run.train_loss < run.heldout_loss  # 12 training images: it fits them better than unseen ones


def _row(width, size, tied, train, heldout):
    return GapRow(width=width, train_size=size, tied=tied, parameters=1, train_loss=train, heldout_loss=heldout,
                  best_epoch=5, epochs_run=9)


def test_gap_table_round_trips_and_pairs_tied_with_untied(tmp_path):
    rows = [_row(50, 500, True, 90, 110), _row(50, 500, False, 80, 115), _row(50, 4500, True, 100, 104),
            _row(100, 4500, False, 70, 75)]  # width 100 has no tied run: no pair
    path = tmp_path / "gap.json"
    path.write_text(json.dumps(gap_document(rows, {"lr": 0.003})))
    table = load_gap_table(path)
    assert table.recipe == {"lr": 0.003} and table.widths == [50, 100] and table.train_sizes == [4500, 500]
    assert [(t.train_size, t.width, u.gap) for t, u in table.pairs()] == [(500, 50, 35.0)]
    assert table.row(50, 500, True).gap == 20.0


def test_gap_table_pairs_the_main_seed_and_measures_repeats_of_other_seeds():
    rows = [_row(50, 500, True, 90, 110), _row(50, 500, False, 80, 115),  # seed 0: untied − tied gap = 15
            GapRow(50, 500, True, 1, 91, 105, 5, 9, seed=1), GapRow(50, 500, False, 2, 82, 104, 5, 9, seed=1)]  # 8
    table = GapTable(rows=rows, recipe={"seed": 0})
    assert [(t.seed, u.seed) for t, u in table.pairs()] == [(0, 0)]
    assert [(t.seed, u.seed) for t, u in table.pairs(seed=1)] == [(1, 1)]
    assert table.seed_repeats() == [(500, 50, {0: 15.0, 1: 8.0})]
    assert GapTable(rows=rows[:2], recipe={}).seed_repeats() == []


def test_gap_table_absent_is_none_and_malformed_is_a_clear_error(tmp_path):
    assert load_gap_table(tmp_path / "missing.json") is None
    bad = tmp_path / "bad.json"
    for text in ("{not json", json.dumps({"format": "other", "rows": []}),
                 json.dumps({"format": GAP_FORMAT, "rows": [{"width": 5}]}),
                 json.dumps({"format": GAP_FORMAT, "rows": [{**_row(5, 5, True, 1, 2).__dict__,
                                                             "train_loss": "NaN"}]})):
        bad.write_text(text)
        with pytest.raises(CheckpointError, match="bad.json"):
            load_gap_table(bad)


def test_the_gap_script_quick_mode_writes_a_table_the_page_can_read(tmp_path):
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        "tied_untied_gap", ROOT / "scripts" / "tied_untied_gap.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "gap.json"
    assert script.main(["--quick", "--out", str(out)]) == 0
    table = load_gap_table(out)
    assert isinstance(table, GapTable) and len(table.pairs()) == 2
    assert {r.train_size for r in table.rows} == {200, 50} and all(r.epochs_run <= 6 for r in table.rows)
    assert table.recipe["patience"] == 2 and "--quick" in table.recipe["command"]
    assert [(size, width, sorted(d)) for size, width, d in table.seed_repeats()] == [(50, 4, [0, 1])]
    # a second run with --reuse takes every run from the first table instead of training again
    again = tmp_path / "again.json"
    with mock.patch.object(script, "train_until_stopped", side_effect=AssertionError("trained again")):
        assert script.main(["--quick", "--out", str(again), "--reuse", str(out)]) == 0
    assert load_gap_table(again).rows == table.rows
