"""A VAE's posterior on the latent plane: σ(x) from the encoder against torch.distributions, the 1-σ ellipse of a
projected Gaussian against its covariance's eigen-decomposition and against samples, the payload that carries
them, and which held-out code a pin sits on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from models.analysis.posterior import cloud_size, ellipses, posterior_stats, projected_covariance
from models.autoencoders import build_model
from models.config import ModelConfig
from models.data import Dataset
from ui.latent.plots import SliderRange
from ui.latent_plane.payload import unpack
from ui.latent_plane.views import code_at, latent_plane, plane_payload


def vae(latent: int = 3):
    torch.manual_seed(0)
    return build_model(ModelConfig(kind="vae", hidden=(8,), input_shape=(1, 5, 5), latent=latent)).eval()


def orthonormal_plane(latent: int, seed: int = 1) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(latent, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q.T  # (2, latent), orthonormal rows


def test_sigma_is_the_encoders_posterior_standard_deviation():
    model = vae()
    x = torch.rand(9, 1, 5, 5, generator=torch.Generator().manual_seed(2))
    mu, sigma = posterior_stats(model, x, batch_size=4)  # three batches, the last of one image
    with torch.no_grad():
        mean, logvar = model.encode_stats(x)
    reference = Normal(mean, torch.exp(0.5 * logvar))
    assert torch.allclose(mu, reference.mean) and torch.allclose(sigma, reference.stddev)
    assert torch.allclose(mu, model.embed(x))  # the plane's codes are the posterior means
    assert posterior_stats(build_model(ModelConfig(hidden=(8,), input_shape=(1, 5, 5))), x) is None  # a plain AE


def test_the_projected_covariance_is_that_of_the_projected_gaussian():
    sigma = torch.rand(5, 16, generator=torch.Generator().manual_seed(3)) + 0.1
    p = orthonormal_plane(16)
    got = projected_covariance(sigma, p)
    for n in range(5):
        full = MultivariateNormal(torch.zeros(16, dtype=torch.float64),
                                  covariance_matrix=torch.diag(sigma[n].double() ** 2)).covariance_matrix
        assert torch.allclose(got[n], p @ full @ p.T, atol=1e-12)


def test_the_ellipse_is_the_covariances_eigen_decomposition():
    sigma = torch.rand(40, 16, generator=torch.Generator().manual_seed(4)) + 0.05
    p = orthonormal_plane(16)
    shape = ellipses(sigma, p)
    cov = projected_covariance(sigma, p)
    values = torch.linalg.eigvalsh(cov)  # ascending
    assert torch.allclose(shape.semi_axes.double() ** 2, values.flip(-1), rtol=1e-5)
    assert bool(((shape.angle > -math.pi / 2) & (shape.angle <= math.pi / 2)).all())
    # R diag(a², b²) Rᵀ rebuilds the covariance, so the angle is the major axis's.
    c, s = torch.cos(shape.angle.double()), torch.sin(shape.angle.double())
    rotation = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    rebuilt = rotation @ torch.diag_embed(shape.semi_axes.double() ** 2) @ rotation.transpose(-1, -2)
    assert torch.allclose(rebuilt, cov, rtol=1e-4, atol=1e-7)


def test_on_a_2d_codes_own_plane_the_ellipse_is_axis_aligned_with_semi_axes_sigma():
    sigma = torch.tensor([[0.3, 0.1], [0.05, 0.2]])
    shape = ellipses(sigma, torch.eye(2))
    assert torch.allclose(shape.semi_axes, torch.tensor([[0.3, 0.1], [0.2, 0.05]]))
    assert shape.angle.tolist() == pytest.approx([0.0, math.pi / 2])  # the larger σ along z1, then along z2


def test_the_ellipse_holds_the_share_of_samples_a_1_sigma_ellipse_should():
    """Samples z = μ + σ ⊙ ε of q(z|x), projected: their covariance is the ellipse's, and 1 − e^(−1/2) ≈ 39.3% of
    them fall inside it (the χ² with two degrees of freedom at 1)."""
    generator = torch.Generator().manual_seed(5)
    mu, sigma = torch.randn(16, generator=generator), torch.rand(16, generator=generator) + 0.1
    p = orthonormal_plane(16)
    eps = torch.randn(200_000, 16, generator=generator)
    samples = (mu + sigma * eps).double() @ p.T
    shape = ellipses(sigma[None], p)
    a, b = shape.semi_axes[0].double()
    angle = shape.angle[0].double()
    centred = samples - samples.mean(0)
    assert torch.allclose(centred.T @ centred / (len(samples) - 1), projected_covariance(sigma[None], p)[0],
                          rtol=0.02, atol=2e-3)
    u = centred[:, 0] * torch.cos(angle) + centred[:, 1] * torch.sin(angle)  # along the major axis
    v = -centred[:, 0] * torch.sin(angle) + centred[:, 1] * torch.cos(angle)
    inside = float(((u / a) ** 2 + (v / b) ** 2 <= 1).double().mean())
    assert inside == pytest.approx(1 - math.exp(-0.5), abs=0.005)


def test_cloud_size_is_the_median_ellipse_beside_the_codes_spread():
    sigma = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    xy = torch.tensor([[0.0, 0.0], [2.0, 4.0], [4.0, 8.0]])
    size = cloud_size(ellipses(sigma, torch.eye(2)), xy)
    assert (size.median_major, size.median_minor) == pytest.approx((0.4, 0.3))
    assert size.codes_spread == pytest.approx((2.0, 4.0))
    assert size.ratio == pytest.approx(3.0 / 0.4)


def test_a_vaes_payload_carries_sigma_and_the_ellipses_and_an_aes_does_not():
    model = vae(latent=2)
    x = torch.rand(6, 1, 5, 5, generator=torch.Generator().manual_seed(6))
    data = Dataset(name="tiny", train=x, test=x, train_labels=None, test_labels=None, label_names=None,
                   source="test")
    codes = model.embed(x)
    spec = latent_plane((SliderRange(-3.0, 3.0, 0.02, 0.0), SliderRange(-3.0, 3.0, 0.02, 0.0)), (-1, 1, -1, 1))
    _, arrays = unpack(plane_payload("id", "t", model, spec, codes, codes, data))
    with torch.no_grad():
        _, logvar = model.encode_stats(x)
    sigma = torch.exp(0.5 * logvar)
    assert np.allclose(arrays["sigma"].reshape(6, 2), sigma.numpy())
    ellipse = arrays["ellipses"].reshape(6, 3)
    assert np.allclose(ellipse[:, :2], np.sort(sigma.numpy(), 1)[:, ::-1])  # major, then minor
    frame = unpack(plane_payload("id", "t", model, spec, codes, codes, data, with_images=False))[1]
    assert frame["sigma"].size == 0 and frame["ellipses"].size == 0  # a live frame sends no posteriors
    ae = build_model(ModelConfig(hidden=(8,), input_shape=(1, 5, 5)))
    _, plain = unpack(plane_payload("id", "t", ae, spec, ae.embed(x), ae.embed(x), data))
    assert plain["sigma"].size == 0 and plain["ellipses"].size == 0


def test_code_at_finds_the_code_a_snapped_pin_sits_on():
    xy = torch.tensor([[0.503, -1.2], [0.51, -1.19], [2.0, 2.0]])
    assert code_at(xy, (0.50, -1.20), (0.0102, 0.0102)) == 0  # the nearest of two within half a slider step
    assert code_at(xy, (0.52, -1.18), (0.0102, 0.0102)) == 1
    assert code_at(xy, (1.0, 1.0), (0.0102, 0.0102)) is None  # not on any code
    assert code_at(torch.empty(0, 2), (0.0, 0.0), (1.0, 1.0)) is None
