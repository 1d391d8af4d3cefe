"""Wording that follows a model's activation (models/analysis/activation_words.py) and the Features page's sentences
that depend on it (models/analysis/feature_findings.py): tanh gets arctanh, −1 and 1, negative decodes counted as
invalid, and its own loss ½‖x−x̂‖²; the sigmoid layer keeps logit, 0 and 1, and BCE."""

import math

import pytest
import torch

from models.analysis.activation_words import inverse_key, measured_on, output_range, softening_label
from models.analysis.decodings import compare_decodings
from models.analysis.feature_findings import decoding_findings, reactivation_findings, through_g
from models.analysis.reactivation import reactivation
from tests.unit.test_decodings import build_small


def two_unit_tanh(dec_bias):
    """h = tanh(Wx + b), x̂ = tanh(W′h + b′) on 2-pixel images with W′ = I: g(eᵢ) = tanh(eᵢ + b′) by hand."""
    model = build_small(hidden=(), latent=2, code_activation="tanh", output_activation="tanh", loss="mse",
                        input_shape=(1, 1, 2))
    with torch.no_grad():
        model.to_code.weight.copy_(torch.tensor([[1.0, 2.0], [0.5, -1.0]]))
        model.to_code.bias.copy_(torch.tensor([0.125, -0.25]))
        model.from_code.weight.copy_(torch.eye(2))
        model.from_code.bias.copy_(torch.tensor(dec_bias))
    return model


def test_inverse_key_names_the_inverse_and_the_edges_of_each_activations_range():
    assert inverse_key("sigmoid", "B", "O") == ("sigmoid: f⁻¹ is logit; B: w′ᵢ + b′ ≤ 0, logit → −∞; "
                                                "O: w′ᵢ + b′ ≥ 1, logit → +∞")
    assert inverse_key("tanh", "B", "O") == ("tanh: f⁻¹ is arctanh; B: w′ᵢ + b′ ≤ −1, arctanh → −∞; "
                                             "O: w′ᵢ + b′ ≥ 1, arctanh → +∞")
    assert "defined everywhere" in inverse_key("identity")


def test_output_range_says_a_tanh_output_is_not_always_a_valid_image():
    assert output_range("sigmoid") == "a sigmoid's output lies in (0, 1): always a valid image"
    assert output_range("tanh") == ("a tanh's output lies in (−1, 1): its negative values are not valid pixel "
                                    "intensities")


def test_softening_label_follows_what_clip_to_range_does_to_the_zeros():
    r = reactivation(two_unit_tanh([0.0, 0.0]), eps=0.01)
    assert r.code_values == pytest.approx((0.99, 0.0))  # the label below must say the same
    assert softening_label(["tanh", "tanh"]) == ("ε, how far inside f's range the one-hot code moves "
                                                 "(tanh: 1 becomes 1 − ε, 0 stays 0)")
    assert softening_label(["sigmoid", "tanh"]) == ("ε, how far inside f's range the one-hot code moves "
                                                    "(sigmoid: 1 becomes 1 − ε, 0 becomes ε; tanh: 1 becomes "
                                                    "1 − ε, 0 stays 0)")


def test_measured_on_speaks_only_when_a_picked_model_is_not_the_measured_kind():
    assert measured_on("This table was", "sigmoid", ["sigmoid", "sigmoid"]) == ""
    assert measured_on("This table was", "sigmoid", ["tanh", "tanh"]) == (
        "This table was measured on the single sigmoid layer, not on the tanh models picked above.")
    assert measured_on("X was", "sigmoid", ["sigmoid", "tanh"]) == (
        "X was measured on the single sigmoid layer, not on the tanh model picked above.")


def test_through_g_counts_the_one_hot_decodes_that_leave_0_1():
    # b′ = (−0.5, 0): g(e₀) = (tanh 0.5, tanh 0) = (0.462, 0) is inside [0, 1]; g(e₁) = (tanh −0.5, tanh 1) is not
    r = reactivation(two_unit_tanh([-0.5, 0.0]))
    assert r.learned[1].flatten().tolist() == pytest.approx([math.tanh(-0.5), math.tanh(1.0)], rel=1e-6)
    assert through_g(r) == (f"**Through g:** g(W′eᵢ + b′) leaves [0, 1] for **1 of 2** one-hot codes (values "
                            f"{math.tanh(-0.5):.3f} … {math.tanh(1.0):.3f}): as they stand those are not valid "
                            f"images (pixel intensities lie in [0, 1]).")
    assert reactivation_findings(r, "tanh")[0] == through_g(r)
    inside = reactivation(two_unit_tanh([0.0, 0.0]))  # g(eᵢ) = tanh(eᵢ): 0 and 0.762, every pixel in [0, 1]
    assert through_g(inside).startswith("**Through g:** g(W′eᵢ + b′) is a valid image, every pixel in [0, 1], for "
                                        "all 2 one-hot codes (values 0.000 … 0.762)")


def test_the_pseudo_inverse_finding_weighs_an_mse_model_by_half_squared_error_not_bce():
    x = torch.rand(12, 1, 1, 2, generator=torch.Generator().manual_seed(1))
    result = compare_decodings(two_unit_tanh([0.0, 0.0]), x)
    pinv, learned = result.scores["pinv"], result.scores["learned"]
    lower = "lower" if pinv.half_squared < learned.half_squared else "higher"
    text = decoding_findings(result, "tanh", "mse")[1]
    assert (f"with a {lower} ½‖x−x̂‖², this model's training loss ({pinv.half_squared:.2f} against "
            f"{learned.half_squared:.2f})") in text
    assert "BCE" not in text
    bce = decoding_findings(result, "tanh", "bce")[1]
    assert f"BCE, this model's training loss ({pinv.bce:.2f} against {learned.bce:.2f})" in bce
