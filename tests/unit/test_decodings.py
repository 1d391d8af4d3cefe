"""models/analysis/decodings.py (question b: every decoding on the same images, the inverse paths in float64 with
values on f's range edge clipped at ε) and models/analysis/reactivation.py (question b′), against numbers worked by
hand."""

from __future__ import annotations

import copy
import math
from unittest import mock

import pytest
import torch

from models.analysis import decodings as an
from models.analysis import reactivation as re_
from models.autoencoders import build_model
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.config import ModelConfig
from models.errors import ConfigError

CATALOG = {entry.name: entry for entry in load_catalog()}
EPS = an.EDGE_EPS


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


# W = [2, −1], b = 0.5, W′ = [1, 3]ᵀ, b′ = [−0.25, −1.5]; x = (0.25, 0.75): Wx = −0.25, Wx + b = 0.25, h = σ(0.25).
# Every number is exact in float32, so the float64 inverse can be checked to float64 rounding.
ONE_UNIT = dict(weight=[[2.0, -1.0]], bias=[0.5], dec_weight=[[1.0], [3.0]], dec_bias=[-0.25, -1.5])
X = torch.tensor([[[[0.25, 0.75]]]])


# --- each decoding by hand: 2 inputs, 1 unit ----------------------------------------------------------------------
def test_learned_decoding_is_g_of_the_decoders_preactivation():
    model = tiny(**ONE_UNIT)
    h = model.encode(X)
    assert float(h) == pytest.approx(sigmoid(0.25), rel=1e-6)
    expected = [sigmoid(sigmoid(0.25) - 0.25), sigmoid(3 * sigmoid(0.25) - 1.5)]
    assert an.decode_learned(model, h).flatten().tolist() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
def test_the_float64_inverse_recovers_the_preactivation_exactly(activation):
    model = tiny(**ONE_UNIT, activation=activation)
    h64 = an.encode64(model, X)
    assert h64.dtype == torch.float64
    # f⁻¹(f(0.25)) − 0.5 = Wx = −0.25, to float64 rounding; Wᵀ(−0.25) = (−0.5, 0.25)
    assert an.recovered_preactivation(model, h64).item() == pytest.approx(-0.25, abs=1e-15)
    assert an.decode_transpose(model, h64).flatten().tolist() == pytest.approx([-0.5, 0.25], abs=1e-15)
    if activation != "identity":  # the float32 code has lost digits that f⁻¹ magnifies: the reason for float64
        assert abs(an.recovered_preactivation(model, model.encode(X)).item() + 0.25) > 1e-9


def test_pinv_decoding_divides_by_the_squared_norm_of_the_row():
    model = tiny(**ONE_UNIT)
    # W⁺ = Wᵀ/‖W‖² = (2, −1)/5, so W⁺(−0.25) = (−0.1, 0.05)
    assert an.decode_pinv(model, an.encode64(model, X)).flatten().tolist() == pytest.approx([-0.1, 0.05], abs=1e-15)


def test_output_inverse_is_the_logit_of_the_decoders_preactivation_clipped_at_eps_outside_0_1():
    model = tiny(**ONE_UNIT)
    h = model.encode(X)
    pre = [sigmoid(0.25) - 0.25, 3 * sigmoid(0.25) - 1.5]  # 0.312 and 0.187: both inside (0, 1)
    out, clipped = an.output_inverse_parts(model, h)
    assert out.flatten().tolist() == pytest.approx([logit(p) for p in pre], rel=1e-5) and not clipped.any()
    outside = tiny(**{**ONE_UNIT, "dec_bias": [-1.0, 0.25]})  # pre = (−0.44, 1.94): no logit, so clipped
    out, clipped = an.output_inverse_parts(outside, h)
    assert out.flatten().tolist() == pytest.approx([logit(EPS), logit(1 - EPS)], rel=1e-9)
    assert clipped.flatten().tolist() == [True, True]


def test_two_unit_decodings_by_hand():
    # W = [[1, 0], [1, 1]], b = 0: Wx = (x1, x1 + x2). Square and invertible, so W⁺ = W⁻¹ and recovers x.
    model = tiny(weight=[[1.0, 0.0], [1.0, 1.0]], bias=[0.0, 0.0], dec_weight=[[1.0, 0.0], [0.0, 1.0]],
                 dec_bias=[0.0, 0.0])
    x = torch.tensor([[[[0.25, 0.5]]]])
    h = an.encode64(model, x)
    # Wᵀ(Wx) = (x1 + (x1 + x2), x1 + x2) = (1.0, 0.75)
    assert an.decode_transpose(model, h).flatten().tolist() == pytest.approx([1.0, 0.75], abs=1e-12)
    assert an.decode_pinv(model, h).flatten().tolist() == pytest.approx([0.25, 0.5], abs=1e-12)
    assert an.outside_row_space_share(model.to_code.weight, x).item() == pytest.approx(0.0, abs=1e-12)


def test_inverse_decodings_refuse_a_relu_code_saying_why_and_a_deep_model():
    relu = build_small(hidden=(), latent=3, code_activation="relu", input_shape=(1, 1, 2))
    deep = build_small(hidden=(4,), latent=3, code_activation="sigmoid", input_shape=(1, 1, 2))
    with pytest.raises(ConfigError, match=r"relu\(z\) = 0 for every z ≤ 0.*relu has no inverse"):
        an.compare_decodings(relu, torch.rand(2, 1, 1, 2))
    with pytest.raises(ConfigError, match="needs a single-layer dense model"):
        an.compare_decodings(deep, torch.rand(2, 1, 1, 2))
    assert an.no_inverse_reason("tanh") == "" and "invertible code activation" in an.no_inverse_reason("relu")


# --- the pseudo-inverse and W's row space ----------------------------------------------------------------------------
def test_pinv_recovers_an_image_in_the_row_space_exactly_and_nothing_outside_it():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(), latent=3, code_activation="sigmoid", input_shape=(1, 4, 4))).eval()
    weight = model.to_code.weight.detach()
    inside = (torch.tensor([[0.3, -0.2, 0.1], [0.05, 0.1, -0.3]]) @ weight).reshape(2, 1, 4, 4)  # x = Wᵀa
    recovered = an.decode_pinv(model, an.encode64(model, inside))
    assert torch.allclose(recovered, inside.double(), atol=1e-6)  # x = Wᵀa was rounded to float32
    assert torch.allclose(an.outside_row_space_share(weight, inside), torch.zeros(2, dtype=torch.float64), atol=1e-9)
    # the transpose is not an inverse: it misses the same x
    assert (an.decode_transpose(model, an.encode64(model, inside)) - inside).abs().max() > 0.05
    # x at right angles to every row: all of it lies outside, and W⁺ returns zero
    basis = torch.linalg.svd(weight.double(), full_matrices=True).Vh[3:]  # the null space of W
    orthogonal = basis[0].float().reshape(1, 1, 4, 4)
    assert an.outside_row_space_share(weight, orthogonal).item() == pytest.approx(1.0, abs=1e-6)
    assert an.row_space_projection(weight, orthogonal).abs().max() < 1e-5


def test_singular_values_and_rank():
    weight = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    assert an.singular_values(weight).tolist() == pytest.approx([3.0, 0.5])
    assert an.rank(weight) == 2 and an.rank(torch.tensor([[1.0, 2.0], [2.0, 4.0]])) == 1


# --- the edge of f's range: clipped at ε and counted -------------------------------------------------------------------
def test_a_value_on_the_edge_is_clipped_eps_inside_and_counted_one_inside_is_not():
    clipped, moved = an.clip_to_range(torch.tensor([0.0, 1.0, 0.5, 0.25]), "sigmoid")
    assert clipped.dtype == torch.float64 and clipped.tolist() == [EPS, 1 - EPS, 0.5, 0.25]
    assert moved.tolist() == [True, True, False, False]
    clipped, moved = an.clip_to_range(torch.tensor([-1.0, 1.0, 0.0, 0.375]), "tanh")
    assert clipped.tolist() == [-1 + EPS, 1 - EPS, 0.0, 0.375]
    assert moved.tolist() == [True, True, False, False]
    clipped, moved = an.clip_to_range(torch.tensor([1e6, -1e6]), "identity")
    assert clipped.tolist() == [1e6, -1e6] and not moved.any()
    inverse, _ = an.clipped_inverse("sigmoid", torch.tensor([0.0, 1.0]))
    assert inverse.tolist() == pytest.approx([logit(EPS), logit(1 - EPS)], rel=1e-9)
    assert an.saturated(torch.tensor([[0.5, 1.0], [0.2, 0.3]]), "sigmoid").tolist() == [True, False]


def test_a_saturated_code_is_clipped_and_counted_and_every_decoding_scores_the_same_images():
    # W·x + b = 40 for the first image: σ(40) rounds to exactly 1.0 in float32 and in float64; the second is inside.
    model = tiny(weight=[[100.0, -100.0]], bias=[0.0], dec_weight=[[1.0], [1.0]], dec_bias=[-0.5, -0.5])
    x = torch.tensor([[[[0.6, 0.2]]], [[[0.5, 0.49]]]])
    assert model.encode(x)[0].item() == 1.0 and an.encode64(model, x)[0].item() == 1.0
    result = an.compare_decodings(model, x)
    assert result.float32_saturated == 1 and result.code_clipped.tolist() == [True, False]
    for name in ("transpose", "pinv"):
        score = result.scores[name]
        assert (score.images, score.finite_images, score.clipped_images, score.clipped_values) == (2, 2, 1, 1), name
    # image 0 through the transpose: Wᵀ(logit(1 − ε) − 0) = logit(1 − ε)·(100, −100), finite
    assert result.images["transpose"][0].flatten().tolist() == pytest.approx(
        [100 * logit(1 - EPS), -100 * logit(1 - EPS)], rel=1e-9)
    assert result.scores["learned"].clipped_images == 0
    for score in result.scores.values():  # the same two images, every one of them, for every decoding
        assert score.images == 2 and score.used.tolist() == [True, True]


def test_every_decoding_is_scored_on_all_the_same_images_even_when_most_codes_saturate():
    model = build_small(hidden=(), latent=3, code_activation="sigmoid", input_shape=(1, 4, 4))
    with torch.no_grad():
        model.to_code.weight.mul_(400)  # saturates most codes, in float32 and float64
    x = torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    result = an.compare_decodings(model, x)
    assert result.float32_saturated > 15 and result.code_clipped_images > 15
    assert torch.equal(result.x, x)
    for name, score in result.scores.items():
        assert score.images == score.finite_images == 30 and bool(score.used.all()), name
        assert result.images[name].shape == x.shape and bool(torch.isfinite(result.images[name]).all())
        # the PSNR is over all 30: recomputed by hand from the images
        squared = (result.images[name].double().clamp(0, 1) - x.double()).flatten(1).pow(2).mean(1)
        assert score.psnr == pytest.approx(float(an.psnr(squared).mean()), rel=1e-12), name


def test_a_tanh_model_has_a_finite_arctanh_on_every_code_after_clipping():
    model = build_small(hidden=(), latent=4, code_activation="tanh", input_shape=(1, 4, 4))
    with torch.no_grad():
        model.to_code.weight.mul_(300)
    x = torch.rand(20, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    h = an.encode64(model, x)
    assert (h.abs() == 1.0).any(1).sum() > 5  # tanh is exactly ±1 in float64 for |z| ≳ 19
    assert not torch.isfinite(torch.atanh(h)).all()
    assert torch.isfinite(an.recovered_preactivation(model, h)).all()
    assert an.recovered_preactivation(model, h).abs().max() <= math.atanh(1 - EPS) + model.to_code.bias.abs().max()
    result = an.compare_decodings(model, x)
    assert result.code_clipped_images == int((h.abs() >= 1 - EPS).any(1).sum())
    assert all(score.finite_images == 20 for score in result.scores.values())


def test_score_by_hand_clips_to_0_1_and_names_the_images_it_is_over():
    x = torch.tensor([[1.0, 0.0], [0.5, 0.5], [1.0, 1.0]])
    x_hat = torch.tensor([[1.5, 0.25], [0.5, 0.75], [float("nan"), 1.0]])
    score = an.score(x, x_hat, torch.tensor([[False, False], [True, False], [True, True]]))
    assert (score.images, score.finite_images, score.nonfinite_images) == (3, 2, 1)
    assert (score.clipped_images, score.clipped_values) == (2, 3) and score.used.tolist() == [True, True, False]
    assert score.nonfinite_pixels == pytest.approx(1 / 6)
    assert score.outside_unit == pytest.approx(1 / 4)  # 1.5 of the four finite-image pixels
    assert score.half_squared == pytest.approx(0.03125)  # clipped: (1, 0.25), (0.5, 0.75): ½·0.0625 each
    bce_1 = -math.log(1 - 1e-7) - math.log(0.75)
    bce_2 = -(0.5 * math.log(0.5) + 0.5 * math.log(0.5)) - (0.5 * math.log(0.75) + 0.5 * math.log(0.25))
    assert score.bce == pytest.approx((bce_1 + bce_2) / 2, rel=1e-6)
    assert score.psnr == pytest.approx(10 * math.log10(1 / (0.0625 / 2)))
    assert (score.low, score.high) == (0.25, 1.5)
    nothing = an.score(x[:1], torch.full((1, 2), float("inf")), torch.zeros(1, 2, dtype=torch.bool))
    assert nothing.bce is None and nothing.psnr is None and nothing.low is None and nothing.nonfinite_images == 1


def test_psnr_of_a_perfect_match_is_capped():
    assert an.psnr(torch.tensor([0.0, 0.01])).tolist() == pytest.approx([an.PSNR_CAP, 20.0])


def test_on_a_shipped_model_g_matches_its_loss_and_the_unclipped_inverse_is_the_projection():
    if "mnist_tied100" not in CATALOG:
        pytest.skip("the tied single-layer model is not shipped")
    from models.data import load_dataset  # noqa: PLC0415

    model, _ = load_checkpoint(CATALOG["mnist_tied100"].path)
    x = load_dataset("mnist", source="bundled").test[:100]
    result = an.compare_decodings(model, x)
    assert result.scores["learned"].bce == pytest.approx(an.held_out_recon(model, x), rel=1e-4)
    assert result.rank == 100 and len(result.singular_values) == 100
    assert all(score.finite_images == 100 for score in result.scores.values())
    # with the encoder scaled down some codes stay away from the edge: there W⁺(f⁻¹(h) − b) is W⁺Wx, in float64
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.to_code.weight.mul_(0.4)
        model.to_code.bias.mul_(0.4)
    result = an.compare_decodings(model, x)
    unclipped = ~result.code_clipped
    projection = an.row_space_projection(model.to_code.weight, x)
    assert unclipped.sum() > 10 and torch.allclose(result.images["pinv"][unclipped], projection[unclipped], atol=1e-9)
    assert result.worst_unclipped_error == float(result.projection_error[unclipped].max()) < 1e-9
    assert result.projection_error[~unclipped].min() > 1e-6  # the clipped ones are not the projection


# --- reactivation -----------------------------------------------------------------------------------------------------
# W = [[1, 2], [0.5, −1]], b = (0.125, −0.25), W′ = I, b′ = 0. W is square: W⁺ = W⁻¹ = [[0.5, 1], [0.25, −0.5]].
TWO_UNITS = dict(weight=[[1.0, 2.0], [0.5, -1.0]], bias=[0.125, -0.25], dec_weight=[[1.0, 0.0], [0.0, 1.0]],
                 dec_bias=[0.0, 0.0])


def test_reactivation_pictures_through_g_and_through_the_inverse_by_hand():
    model = tiny(**TWO_UNITS)
    r = re_.reactivation(model, eps=0.01)
    assert r.learned.shape == r.transpose.shape == r.pinv.shape == (2, 1, 1, 2)
    assert r.code_values == pytest.approx((0.99, 0.01)) and r.clipped_values == 4
    assert r.inverse_values == pytest.approx((logit(0.99), logit(0.01)))
    assert r.learned[1].flatten().tolist() == pytest.approx([0.5, sigmoid(1.0)], rel=1e-6)  # g(e₁) = σ(0, 1)
    # e₀ → (0.99, 0.01): f⁻¹(·) − b = (a, c); Wᵀ(a, c) = a·(1, 2) + c·(0.5, −1); W⁻¹(a, c) = (0.5a + c, 0.25a − 0.5c)
    a, c = logit(0.99) - 0.125, logit(0.01) + 0.25
    assert r.transpose[0].flatten().tolist() == pytest.approx([a + 0.5 * c, 2 * a - c], rel=1e-12)
    assert r.pinv[0].flatten().tolist() == pytest.approx([0.5 * a + c, 0.25 * a - 0.5 * c], rel=1e-12)
    # what every transpose picture shares: Wᵀ(f⁻¹(0.01)·1 − b)
    p, q = logit(0.01) - 0.125, logit(0.01) + 0.25
    assert r.transpose_common.flatten().tolist() == pytest.approx([p + 0.5 * q, 2 * p - q], rel=1e-12)
    with pytest.raises(ConfigError, match="ε must be between 0 and 0.5"):
        re_.reactivation(model, eps=0.7)


def test_tanh_reactivation_clips_only_the_ones_and_its_off_units_add_nothing():
    model = tiny(**TWO_UNITS, activation="tanh")
    r = re_.reactivation(model)
    assert r.code_values == (1 - EPS, 0.0) and r.clipped_values == 2  # the diagonal only: 0 is inside (−1, 1)
    assert r.inverse_values == pytest.approx((math.atanh(1 - EPS), 0.0))
    a, c = math.atanh(1 - EPS) - 0.125, 0.25  # f⁻¹(e₀) − b
    assert r.transpose[0].flatten().tolist() == pytest.approx([a + 0.5 * c, 2 * a - c], rel=1e-12)
    assert torch.isfinite(r.transpose).all() and torch.isfinite(r.pinv).all()


def test_mean_pairwise_and_shared_correlation():
    same = torch.tensor([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [0.0, 2.0, 4.0]])
    assert re_.mean_pairwise_correlation(same) == pytest.approx(1.0)
    assert re_.mean_pairwise_correlation(torch.tensor([[0.0, 1.0], [1.0, 0.0]])) == pytest.approx(-1.0)
    assert re_.mean_pairwise_correlation(torch.tensor([[0.0, float("nan")], [1.0, 0.0]])) is None
    common = torch.tensor([0.0, 1.0, 0.0])
    assert re_.shared_correlation(torch.tensor([[0.0, 2.0, 0.0], [1.0, 0.0, 1.0]]), common) == pytest.approx(0.0)
