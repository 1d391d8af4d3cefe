"""Every loss term against a hand computation or a reference (torch's BCE, torch.distributions' KL, autograd's
Jacobian), in float32 and under bfloat16 autocast."""

import math

import pytest
import torch
import torch.nn.functional as F

from models import losses
from models.autoencoders import build_model
from models.config import ModelConfig


# --- loss terms against hand computations ------------------------------------------------------------------
def test_bce_matches_hand_computation_summed_over_pixels_and_averaged_over_samples():
    x = torch.tensor([[1.0, 0.0], [0.5, 1.0]])
    p = torch.tensor([[0.8, 0.3], [0.5, 0.9]])
    by_hand = -((math.log(0.8) + math.log(0.7)) + (0.5 * math.log(0.5) + 0.5 * math.log(0.5) + math.log(0.9))) / 2
    assert losses.bce_with_logits(torch.logit(p), x).item() == pytest.approx(by_hand, rel=1e-5)


def test_bce_value_and_gradient_match_torch_including_extreme_logits():
    torch.manual_seed(0)
    logits = torch.cat([torch.randn(4, 50) * 4, torch.tensor([[-200.0, -30.0, -1e-4, 0.0, 1e-4, 30.0, 200.0]]
                                                            ).expand(4, 7)], 1).requires_grad_(True)
    x = torch.rand(4, 57)
    ours = losses.bce_with_logits(logits, x)
    (ours_grad,) = torch.autograd.grad(ours * 3, logits)
    reference = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 4
    (reference_grad,) = torch.autograd.grad(reference * 3, logits)
    assert ours.item() == pytest.approx(reference.item(), rel=1e-6)
    assert torch.allclose(ours_grad, reference_grad, atol=1e-7)
    double, target = torch.randn(3, 5, dtype=torch.float64, requires_grad=True), torch.rand(3, 5).double()
    assert torch.autograd.gradcheck(lambda logit: losses.bce_with_logits(logit, target), double)


def test_bce_from_bfloat16_logits_is_computed_in_float32_and_gives_a_bfloat16_gradient():
    torch.manual_seed(0)
    logits, x = torch.randn(8, 784).bfloat16().requires_grad_(True), torch.rand(8, 784)
    ours = losses.bce_with_logits(logits, x)
    ours.backward()
    reference = F.binary_cross_entropy_with_logits(logits.detach().float(), x, reduction="sum") / 8
    assert ours.dtype == torch.float32 and ours.item() == pytest.approx(reference.item(), rel=1e-6)
    assert logits.grad.dtype == torch.bfloat16
    assert torch.allclose(logits.grad.float(), (torch.sigmoid(logits.detach().float()) - x) / 8, atol=1e-3)


def test_every_loss_term_stays_float32_and_finite_under_bfloat16_autocast():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28)
    for options in (dict(sparsity="kl", sparsity_weight=3.0, sparsity_target=0.05),
                    dict(sparsity="l1", sparsity_weight=0.1), dict(contractive_weight=1.0),
                    dict(loss="mse", output_activation="sigmoid")):
        for saturated in (False, True):
            model = build_model(ModelConfig(hidden=(), latent=16, code_activation="sigmoid", **options))
            if saturated:
                with torch.no_grad():
                    model.to_code.bias[0] = 9.0  # one unit always on: ρ̂ ≈ 1, which bfloat16 rounds to exactly 1
            exact = model.loss(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                mixed = model.loss(x)
            for name, value in mixed.items():
                assert value.dtype == torch.float32 and torch.isfinite(value), (options, saturated, name, value)
                if not saturated:  # a code of 0.9999 is 1.0 in bfloat16, so a saturated KL only stays finite
                    assert value.item() == pytest.approx(exact[name].item(), rel=0.03), (options, name)
    with pytest.raises(ValueError, match=r"one shape, got \(2, 3\) and \(3, 2\)"):
        losses.bce_with_logits(torch.zeros(2, 3), torch.zeros(3, 2))


def test_bce_learns_a_target_that_requires_grad_too():
    target = torch.full((2, 3), 0.5, requires_grad=True)
    losses.bce_with_logits(torch.zeros(2, 3), target).backward()
    assert target.grad is not None and torch.allclose(target.grad, torch.zeros(2, 3))  # ∂/∂x = −l/N = 0 at l = 0


def test_mse_is_half_squared_norm_averaged_over_samples():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    x_hat = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    # sample 1: ½(1+4)=2.5; sample 2: ½·9=4.5; mean 3.5
    assert losses.half_squared_error(x_hat, x).item() == pytest.approx(3.5)


def test_model_recon_term_uses_the_configured_loss():
    torch.manual_seed(0)
    x = torch.rand(3, 1, 28, 28)
    for loss in ("bce", "mse"):
        model = build_model(ModelConfig(hidden=(16,), loss=loss, output_activation="sigmoid"))
        x_hat = model(x)
        expected = (F.binary_cross_entropy(x_hat, x, reduction="sum") if loss == "bce"
                    else 0.5 * ((x_hat - x) ** 2).sum()) / 3
        assert model.loss(x)["recon"].item() == pytest.approx(expected.item(), rel=1e-4)
        assert model.per_sample_error(x, x_hat).mean().item() == pytest.approx(expected.item(), rel=1e-4)


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(1)
    mu, logvar = torch.randn(5, 4), torch.randn(5, 4)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(5, 4), torch.ones(5, 4))
    reference = torch.distributions.kl_divergence(q, p).sum(dim=1).mean()
    assert losses.gaussian_kl(mu, logvar).item() == pytest.approx(reference.item(), rel=1e-5)


def test_vae_loss_is_recon_plus_beta_times_kl():
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", hidden=(16,), beta=4.0))
    terms = model.loss(torch.rand(6, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    assert terms["loss"].item() == pytest.approx(terms["recon"].item() + 4.0 * terms["kl"].item(), rel=1e-6)
    mu, logvar = model.encode_stats(torch.rand(2, 1, 28, 28))
    assert terms["kl"].item() > 0


def test_l1_sparsity_by_hand():
    h = torch.tensor([[0.5, -1.0, 0.0], [2.0, 0.0, 0.5]])
    assert losses.l1_sparsity(h).item() == pytest.approx((1.5 + 2.5) / 2)


def test_kl_sparsity_by_hand():
    h = torch.tensor([[0.2, 0.05], [0.4, 0.05]])  # ρ̂ = (0.3, 0.05)
    rho = 0.05
    by_hand = rho * math.log(rho / 0.3) + (1 - rho) * math.log((1 - rho) / 0.7)  # second unit contributes 0
    assert losses.kl_sparsity(h, rho).item() == pytest.approx(by_hand, rel=1e-5)


def test_sparse_model_adds_weighted_penalty():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(), latent=10, code_activation="sigmoid", sparsity="kl",
                                    sparsity_weight=2.0, sparsity_target=0.1))
    terms = model.loss(torch.rand(8, 1, 28, 28))
    assert terms["loss"].item() == pytest.approx(terms["recon"].item() + 2.0 * terms["sparsity"].item(), rel=1e-6)


def test_contractive_closed_form_equals_autograd_jacobian_norm():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(), latent=7, code_activation="sigmoid", contractive_weight=1.0,
                                    input_shape=(1, 6, 6)))
    x = torch.rand(5, 1, 6, 6)
    closed = model.contractive_penalty(x)
    jac = torch.autograd.functional.jacobian(lambda v: model.encode(v.view(1, 1, 6, 6))[0], x[0].flatten())
    # mean over samples of the squared Frobenius norm, computed sample by sample from the full Jacobian
    per_sample = [torch.autograd.functional.jacobian(lambda v: model.encode(v.view(1, 1, 6, 6))[0], s.flatten())
                  .pow(2).sum() for s in x]
    assert jac.shape == (7, 36)
    assert closed.item() == pytest.approx(torch.stack(per_sample).mean().item(), rel=1e-5)
    assert losses.jacobian_frobenius(model.encode, x).item() == pytest.approx(closed.item(), rel=1e-5)


def test_contractive_autograd_path_for_deep_encoders_is_differentiable():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(16,), latent=3, activation="tanh", contractive_weight=0.5))
    x = torch.rand(4, 1, 28, 28)
    terms = model.loss(x)
    per_sample = [torch.autograd.functional.jacobian(lambda v: model.encode(v.view(1, 1, 28, 28))[0], s.flatten())
                  .pow(2).sum() for s in x]
    assert terms["contractive"].item() == pytest.approx(torch.stack(per_sample).mean().item(), rel=1e-4)
    terms["loss"].backward()
    assert model.to_code.weight.grad is not None
