"""The model layer: every kind's shapes and loss, each loss term against a hand computation or a reference."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from models.autoencoders import (Autoencoder, VariationalAutoencoder, build_model, code_range_axis, gaussian_grid_axis,
                                 interpolate_codes)
from models.config import ModelConfig
from models.errors import ConfigError
from models.noise import corrupt

KINDS = [
    dict(kind="ae", arch="dense", hidden=()),
    dict(kind="ae", arch="dense", hidden=(64, 32)),
    dict(kind="ae", arch="dense", hidden=(48,), tied=True),
    dict(kind="ae", arch="conv", hidden=(8, 16)),
    dict(kind="vae", arch="dense", hidden=(64,)),
    dict(kind="vae", arch="dense", hidden=(64,), tied=True),
    dict(kind="vae", arch="conv", hidden=(8, 16)),
    dict(kind="vae", arch="conv", hidden=(8, 16), conv_dense=32),
]
SHAPES = [(1, 28, 28), (1, 64, 64)]


def ids(options):
    return "-".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("options", KINDS, ids=ids)
def test_every_kind_has_the_interface_shapes_finite_loss_and_gradients(options, shape):
    torch.manual_seed(0)
    model = build_model(ModelConfig(input_shape=shape, latent=3, **options))
    x = torch.rand(4, *shape)
    z = model.encode(x)
    assert z.shape == (4, 3)
    x_hat = model.decode(z)
    assert x_hat.shape == (4, *shape)
    assert model(x).shape == (4, *shape)
    assert ((x_hat > 0) & (x_hat < 1)).all()  # BCE → sigmoid outputs
    terms = model.loss(x)
    assert set(terms) == ({"loss", "recon", "kl"} if options["kind"] == "vae" else {"loss", "recon"})
    assert all(torch.isfinite(v) for v in terms.values())
    terms["loss"].backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("options", KINDS, ids=ids)
def test_odd_sized_images_reconstruct_to_their_own_size(options):
    model = build_model(ModelConfig(input_shape=(1, 25, 25), latent=2, **options))
    assert model(torch.rand(2, 1, 25, 25)).shape == (2, 1, 25, 25)


def test_vae_encode_returns_the_mean_and_forward_is_deterministic():
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", hidden=(32,), latent=2))
    x = torch.rand(3, 1, 28, 28)
    mu, logvar = model.encode_stats(x)
    assert torch.equal(model.encode(x), mu)
    assert torch.equal(model(x), model(x))
    assert isinstance(model, VariationalAutoencoder) and model.has_prior
    assert model.sample(5, torch.Generator().manual_seed(0)).shape == (5, 1, 28, 28)


# --- tied weights ------------------------------------------------------------------------------------
def test_tied_weights_are_one_parameter_and_get_gradients_from_both_sides():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(), latent=5, code_activation="sigmoid", tied=True))
    assert model.from_code.weight.data_ptr() == model.to_code.weight.data_ptr()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["to_code.weight", "to_code.bias", "from_code.bias"]
    x = torch.rand(3, 1, 28, 28)
    # gradient through the decoder alone (encoder output detached) and the encoder alone both reach W
    model.decode_logits(model.encode(x).detach()).sum().backward()
    decoder_side = model.to_code.weight.grad.clone()
    model.zero_grad()
    h = model.encode(x)
    F.linear(h, model.to_code.weight.detach().t(), model.from_code.bias).sum().backward()
    encoder_side = model.to_code.weight.grad.clone()
    assert decoder_side.abs().sum() > 0 and encoder_side.abs().sum() > 0
    model.zero_grad()
    model.decode_logits(model.encode(x)).sum().backward()
    assert torch.allclose(model.to_code.weight.grad, decoder_side + encoder_side, atol=1e-5)


def test_tied_model_stays_tied_after_deepcopy_and_training_step():
    model = build_model(ModelConfig(hidden=(16,), latent=2, tied=True))
    clone = copy.deepcopy(model)
    assert clone.from_code.weight.data_ptr() == clone.to_code.weight.data_ptr()
    assert clone.to_code.weight.data_ptr() != model.to_code.weight.data_ptr()
    opt = torch.optim.SGD(clone.parameters(), lr=0.1)
    clone.loss(torch.rand(4, 1, 28, 28))["loss"].backward()
    before = clone.to_code.weight.detach().clone()
    opt.step()
    assert not torch.equal(clone.to_code.weight, before)  # the step moved W…
    assert clone.from_code.weight.data_ptr() == clone.to_code.weight.data_ptr()  # …and W' is still W's storage
    assert not torch.equal(clone.to_code.weight, model.to_code.weight)  # the original is untouched


def test_a_tanh_output_decodes_with_tanh_and_scores_half_the_squared_error():
    """x̂ = tanh(W′h + b′), as the asker's f = tanh at both ends: pre-activation 0.5 gives tanh(0.5) = 0.4621."""
    model = build_model(ModelConfig(hidden=(), latent=3, code_activation="tanh", output_activation="tanh",
                                    loss="mse", input_shape=(1, 4, 4)))
    with torch.no_grad():
        model.from_code.weight.zero_()
        model.from_code.bias.copy_(torch.tensor([0.5, -0.5, 0.0, 20.0] + [0.0] * 12))
    x_hat = model.decode(torch.zeros(1, 3))
    assert x_hat.flatten()[:4].tolist() == pytest.approx([0.46212, -0.46212, 0.0, 1.0], abs=1e-5)
    x = torch.tensor([0.5, 0.0, 0.0, 1.0] + [0.0] * 12).reshape(1, 1, 4, 4)
    with torch.no_grad():
        model.to_code.weight.zero_()
    expected = 0.5 * ((0.5 - 0.46212) ** 2 + 0.46212 ** 2)
    assert model.loss(x)["recon"].item() == pytest.approx(expected, rel=1e-4)


def test_tied_conv_is_refused_with_a_clear_message():
    with pytest.raises(ConfigError, match="dense layers only"):
        build_model(ModelConfig(arch="conv", hidden=(8,), tied=True))


# --- decoding with the inverse activation -------------------------------------------------------------
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_inverse_activation_decode_is_finite_at_the_range_ends(activation):
    model = build_model(ModelConfig(hidden=(), latent=4, code_activation=activation, tied=True,
                                    loss="mse", output_activation="identity"))
    centre = 0.5 if activation == "sigmoid" else 0.0  # the middle of f's range
    with torch.no_grad():
        model.from_code.bias.fill_(centre)
        model.to_code.weight.zero_()
        model.to_code.weight[0, :10] = 5.0  # pushes those pixels far outside f's range
        model.to_code.weight[1, 10:20] = -5.0
    x_hat, undefined = model.decode_inverse(torch.eye(4))
    assert torch.isfinite(x_hat).all()
    flat = undefined.flatten(1)
    assert flat[0, :10].all() and flat[1, 10:20].all()
    assert flat.sum(1).tolist() == [10, 10, 0, 0]
    # where the argument is inside the range, f⁻¹ is exact: logit(0.5) = atanh(0) = 0
    assert torch.allclose(x_hat.flatten(1)[2], torch.zeros(784), atol=1e-6)
    # at the clamped ends the value is large but finite, with the right sign
    assert (x_hat.flatten(1)[0, :10] > 5).all() and (x_hat.flatten(1)[1, 10:20] < -5).all()


def test_inverse_decode_reproduces_preactivation_inside_the_range():
    model = build_model(ModelConfig(hidden=(), latent=2, code_activation="tanh", loss="mse"))
    with torch.no_grad():
        model.from_code.weight.zero_()
        model.from_code.bias.fill_(0.5)
    x_hat, undefined = model.decode_inverse(torch.zeros(1, 2))
    assert torch.allclose(x_hat, torch.full_like(x_hat, math.atanh(0.5)), atol=1e-6)
    assert not undefined.any()


def test_inverse_decode_refuses_deep_or_relu_models():
    with pytest.raises(ConfigError, match="single-layer"):
        build_model(ModelConfig(hidden=(16,))).decode_inverse(torch.zeros(1, 2))
    with pytest.raises(ConfigError, match="single-layer"):
        build_model(ModelConfig(hidden=(), code_activation="relu")).decode_inverse(torch.zeros(1, 2))


# --- noise ---------------------------------------------------------------------------------------------
def test_noise_kinds_change_the_expected_fraction_and_leave_input_alone():
    x = torch.full((1, 1, 100, 100), 0.5)
    g = torch.Generator().manual_seed(0)
    masked = corrupt(x, "masking", 0.3, g)
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    salted = corrupt(x, "salt_pepper", 0.2, g)
    assert (salted == 1).float().mean().item() == pytest.approx(0.1, abs=0.02)
    assert (salted == 0).float().mean().item() == pytest.approx(0.1, abs=0.02)
    noisy = corrupt(x, "gaussian", 0.1, g)
    assert (noisy - x).std().item() == pytest.approx(0.1, abs=0.01)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert (x == 0.5).all()


def test_denoising_model_corrupts_only_while_training():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(16,), noise="masking", noise_level=0.5))
    x = torch.rand(4, 1, 28, 28)
    model.eval()
    assert model.loss(x)["loss"].item() == pytest.approx(model.loss(x)["loss"].item())
    model.train()
    a = model.loss(x, generator=torch.Generator().manual_seed(1))["loss"].item()
    b = model.loss(x, generator=torch.Generator().manual_seed(2))["loss"].item()
    assert a != b


# --- configuration --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, message", [
    (dict(kind="gan"), "kind must be one of"),
    (dict(latent=0), "latent size"),
    (dict(latent=10**6), "latent size"),
    (dict(hidden=(10**6,)), "hidden sizes"),
    (dict(activation="softmax"), "activation must be one of"),
    (dict(loss="bce", output_activation="identity"), "binary cross-entropy"),
    (dict(loss="bce", output_activation="tanh"), "binary cross-entropy"),  # a tanh output can go below 0
    (dict(kind="vae", code_activation="sigmoid"), "VAE"),
    (dict(noise="masking", noise_level=1.5), "fraction"),
    (dict(sparsity="kl", sparsity_weight=1.0), "code_activation='sigmoid'"),
    (dict(beta=float("nan")), "beta"),
    (dict(input_shape=(1, 2, 2)), "input_shape"),
    (dict(arch="conv", hidden=(8, 8, 8, 8, 8), input_shape=(1, 28, 28)), "below 2×2"),
    (dict(latent="two"), "whole number"),
    (dict(conv_dense=16), "conv_dense adds a dense layer to a convolutional model"),
    (dict(arch="conv", hidden=(8,), conv_dense=10**6), "conv_dense must be between 0"),
])
def test_bad_configs_raise_clear_errors(bad, message):
    with pytest.raises(ConfigError, match=message):
        build_model(ModelConfig(**bad))


def test_conv_dense_puts_one_dense_layer_on_each_side_of_the_code():
    """28×28 → 14×14 → 7×7 with 16 channels: 784 conv features, then 32 units, then the code (and back)."""
    model = build_model(ModelConfig(kind="vae", arch="conv", hidden=(8, 16), latent=2, conv_dense=32))
    dense_in = [m for m in model.encoder if isinstance(m, torch.nn.Linear)]
    dense_out = [m for m in model.decoder if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in dense_in] == [(784, 32)]
    assert [(m.in_features, m.out_features) for m in dense_out] == [(32, 784)]
    assert (model.to_code.in_features, model.to_logvar.in_features, model.from_code.out_features) == (32, 32, 32)
    assert model.decode(torch.zeros(3, 2)).shape == (3, 1, 28, 28)
    plain = build_model(ModelConfig(kind="vae", arch="conv", hidden=(8, 16), latent=2))
    assert plain.to_code.in_features == 784  # 0 (the default) adds nothing: older checkpoints load as they were


def test_config_round_trips_through_a_dict():
    cfg = ModelConfig(kind="vae", arch="conv", hidden=(8, 16), input_shape=(1, 64, 64), latent=32, beta=2.0)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown ModelConfig field"):
        ModelConfig.from_dict({**cfg.to_dict(), "colour": "red"})


# --- shared latent operations ----------------------------------------------------------------------------
def test_interpolation_endpoints_and_slerp_norm():
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    line = interpolate_codes(z0, z1, 5, "linear")
    assert torch.allclose(line[0], z0) and torch.allclose(line[-1], z1)
    assert torch.allclose(line[2], torch.tensor([1.5, 1.5]))
    arc = interpolate_codes(z0, z1, 5, "slerp")
    assert torch.allclose(arc.norm(dim=1), torch.full((5,), 3.0), atol=1e-5)  # stays on the circle
    assert torch.allclose(arc[2], torch.tensor([3 / math.sqrt(2)] * 2), atol=1e-5)
    with pytest.raises(ConfigError):
        interpolate_codes(z0, z1, 1)


def test_decode_grid_places_values_like_a_plot():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(8,), latent=3))
    xs, ys = [-1.0, 0.0, 1.0], [-2.0, 2.0]
    grid = model.decode_grid(xs, ys, dims=(0, 2))
    assert grid.shape == (2, 3, 1, 28, 28)
    # top row is the largest y
    assert torch.allclose(grid[0, 2], model.decode(torch.tensor([[1.0, 0.0, 2.0]]))[0], atol=1e-6)
    assert torch.allclose(grid[1, 0], model.decode(torch.tensor([[-1.0, 0.0, -2.0]]))[0], atol=1e-6)


def test_grid_axes():
    axis = gaussian_grid_axis(3, 0.05, 0.95)
    assert axis[1].item() == pytest.approx(0.0, abs=1e-6)
    assert axis[2].item() == pytest.approx(1.6449, abs=1e-3)
    codes = torch.stack([torch.linspace(0, 10, 101), torch.zeros(101)], dim=1)
    span = code_range_axis(codes, 0, 5, margin=0.0)
    assert span[0].item() == pytest.approx(0.1, abs=1e-4) and span[-1].item() == pytest.approx(9.9, abs=1e-4)


def test_embed_and_reconstruct_batch_without_changing_mode():
    model = build_model(ModelConfig(kind="vae", hidden=(8,), latent=2)).train()
    x = torch.rand(2500, 1, 28, 28)
    codes = model.embed(x, batch_size=1000)
    assert codes.shape == (2500, 2) and not codes.requires_grad
    assert model.reconstruct(x[:7]).shape == (7, 1, 28, 28)
    assert model.training  # embed never flips a shared model's mode
    assert torch.allclose(codes[:5], model.encode(x[:5]).detach(), atol=1e-6)


def test_plain_ae_has_no_prior():
    model = build_model(ModelConfig(hidden=(8,)))
    assert isinstance(model, Autoencoder) and not model.has_prior
    with pytest.raises(ConfigError, match="no prior"):
        model.sample(3)


def test_code_range_axis_never_collapses_to_zero_width():
    one_code = torch.tensor([[0.7, -2.0]])  # e.g. a tiny upload leaves a single held-out image
    axis = code_range_axis(one_code, 1, 5, margin=0.0)
    assert axis[0].item() == pytest.approx(-3.0) and axis[-1].item() == pytest.approx(-1.0)


def test_overcomplete_code_wider_than_the_input_works_with_a_sparsity_penalty():
    torch.manual_seed(0)
    model = build_model(ModelConfig(input_shape=(1, 16, 16), hidden=(), latent=400, code_activation="sigmoid",
                                    sparsity="kl", sparsity_weight=1.0, sparsity_target=0.05))
    x = torch.rand(3, 1, 16, 16)
    assert model.encode(x).shape == (3, 400) and model.config.latent > model.config.input_dim
    terms = model.loss(x)
    assert terms["sparsity"] > 0 and torch.isfinite(terms["loss"])
