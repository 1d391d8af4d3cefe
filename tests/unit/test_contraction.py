"""The encoder's Jacobian and its singular values (models/analysis/contraction.py), against
torch.autograd.functional.jacobian and torch.linalg.svd, and ‖J‖²_F against the contractive penalty the model's
own loss computes."""

import pytest
import torch

from models.analysis.contraction import (contraction, contraction_lead, encoder_jacobian, jacobian_singular_values,
                                         null_directions, sensitive_directions)
from models.autoencoders import build_model
from models.config import ModelConfig
from models.errors import ConfigError


def model_of(**options):
    torch.manual_seed(0)
    config = dict(hidden=(), latent=6, code_activation="sigmoid", input_shape=(1, 5, 4))
    return build_model(ModelConfig(**{**config, **options})).eval()


def images(shape=(1, 5, 4), n: int = 9) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(2))


def reference_jacobian(model, one: torch.Tensor) -> torch.Tensor:
    """torch's own Jacobian of the code at one image, (latent, input_dim)."""
    jac = torch.autograd.functional.jacobian(lambda v: model.encode(v[None])[0], one)
    return jac.reshape(model.config.latent, -1)


MODELS = {
    "single sigmoid layer": dict(),
    "deep tanh": dict(hidden=(8,), activation="tanh", code_activation="tanh"),
    "conv": dict(arch="conv", hidden=(3,), latent=4, input_shape=(1, 8, 8)),
    "dense VAE": dict(kind="vae", hidden=(7,), latent=3, code_activation="identity"),
}


@pytest.mark.parametrize("name", MODELS)
def test_jacobian_and_singular_values_match_torch_autograd_and_svd(name):
    model = model_of(**MODELS[name])
    x = images(model.config.input_shape, n=5)
    jac = encoder_jacobian(model, x)
    assert jac.shape == (5, model.config.latent, x[0].numel())
    values = jacobian_singular_values(jac)
    for i in range(len(x)):
        reference = reference_jacobian(model, x[i])
        assert torch.allclose(jac[i], reference, atol=1e-6)
        expected = torch.linalg.svd(reference.double()).S
        assert torch.allclose(values[i], expected, atol=1e-6 * float(expected[0]) + 1e-9)


def test_overcomplete_code_uses_the_smaller_gram_matrix():
    model = model_of(latent=30)  # 30 units on 20 pixels: at most 20 singular values
    x = images(n=3)
    values = jacobian_singular_values(encoder_jacobian(model, x))
    assert values.shape == (3, 20)
    assert torch.allclose(values[1], torch.linalg.svd(reference_jacobian(model, x[1]).double()).S, atol=1e-6)


def test_directions_are_the_right_singular_vectors_and_move_the_code_by_sigma():
    model, x = model_of(), images(n=1)
    found = sensitive_directions(model, x[0])
    reference = reference_jacobian(model, x[0]).double()
    s = torch.linalg.svd(reference, full_matrices=False).S
    assert torch.allclose(found.values, s, atol=1e-9)
    assert found.vectors.shape == (6, 1, 5, 4)
    flat = found.vectors.flatten(1)
    assert torch.allclose(flat.norm(dim=1), torch.ones(6, dtype=torch.float64), atol=1e-9)
    # J vₖ has length σₖ: a unit step along vₖ moves the code by σₖ (to first order)
    assert torch.allclose((reference @ flat.t()).norm(dim=0), s, atol=1e-9)
    # and a small finite step does what the linearisation says
    step = 1e-3
    with torch.no_grad():
        moved = (model.encode((x[0] + step * found.vectors[0].float())[None]) - model.encode(x)).norm()
    assert float(moved) == pytest.approx(step * float(s[0]), rel=0.02)
    assert found.nonzero == 6


def test_rank_deficient_jacobian_counts_only_its_nonzero_directions():
    model = model_of()
    with torch.no_grad():
        model.to_code.weight[3:] = model.to_code.weight[:3]  # six rows, three of them copies: rank 3
    assert sensitive_directions(model, images(n=1)[0]).nonzero == 3


@pytest.mark.parametrize("options", [dict(contractive_weight=1.0),
                                     dict(hidden=(8,), contractive_weight=1.0),
                                     dict(arch="conv", hidden=(3,), latent=4, input_shape=(1, 8, 8),
                                          contractive_weight=0.5)])
def test_squared_frobenius_is_the_contractive_penalty_of_the_models_loss(options):
    model = model_of(**options)
    x = images(model.config.input_shape, n=7)
    result = contraction(model, x, chunk=3)  # chunks of 3, 3 and 1 images
    assert result.images == 7
    penalty = model.loss(x)["contractive"].detach()
    assert result.mean_squared_frobenius == pytest.approx(float(penalty), rel=1e-5)
    assert result.frobenius.shape == (7,)
    assert result.mean_top == pytest.approx(float(result.singular[:, 0].mean()))


def test_contraction_needs_an_image():
    with pytest.raises(ConfigError, match="at least one image"):
        contraction(model_of(), torch.empty(0, 1, 5, 4))


def test_lead_sentence_carries_both_models_numbers():
    model, plain = model_of(), model_of()
    with torch.no_grad():
        plain.to_code.weight.mul_(10)
    x = images(n=4)
    a, b = contraction(model, x), contraction(plain, x)
    text = contraction_lead(a, b, "held-out digits")
    assert text.startswith("Over the same 4 held-out digits")
    assert f"**{a.mean_frobenius:.2f}** against the plain encoder's **{b.mean_frobenius:.2f}**" in text
    assert f"**{b.mean_frobenius / a.mean_frobenius:.0f}× smaller**" in text
    assert f"σ₁ = **{a.mean_top:.2f}** per unit step against **{b.mean_top:.2f}**" in text
    assert "larger" in contraction_lead(b, a, "images")
    assert null_directions(100, 784).startswith("J is 100×784, so it has at most 100 non-zero singular values: "
                                                "the other 684 input directions")
    assert null_directions(30, 20) == ""
