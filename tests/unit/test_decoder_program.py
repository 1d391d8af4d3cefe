"""The decoder exported for the browser: the NumPy interpreter of the program must decode as torch does, for every
decoder ModelConfig can build, and the program's layout (HWC, row-permuted Linear) must be what decoder.js expects."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from models.autoencoders import build_model
from models.config import ModelConfig
from models.decoder_program import decoder_program, run_program
from models.errors import ConfigError

CONFIGS = {
    "dense ae": ModelConfig(),
    "dense vae, two layers": ModelConfig(kind="vae", hidden=(64, 32)),
    "single layer, sigmoid code, tied": ModelConfig(hidden=(), latent=10, code_activation="sigmoid", tied=True),
    "deep tied, tanh": ModelConfig(hidden=(16, 8), tied=True, activation="tanh"),
    "dense mse, identity output": ModelConfig(loss="mse", hidden=(20,)),
    "conv ae 28": ModelConfig(arch="conv", hidden=(8, 16), latent=3),
    "conv vae 64 faces": ModelConfig(kind="vae", arch="conv", hidden=(4, 8, 16), input_shape=(1, 64, 64), loss="mse",
                                     output_activation="sigmoid"),
    "conv vae with a dense layer by the code": ModelConfig(kind="vae", arch="conv", hidden=(4, 8), latent=2,
                                                          conv_dense=16),
    "conv rgb 25 (odd: output padding)": ModelConfig(arch="conv", hidden=(4, 6), input_shape=(3, 25, 25), loss="mse"),
    "conv two channels 7x9, sigmoid hidden": ModelConfig(arch="conv", hidden=(5,), input_shape=(2, 7, 9), latent=4,
                                                          activation="sigmoid"),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_program_decodes_like_torch(name):
    torch.manual_seed(0)
    model = build_model(CONFIGS[name]).eval()
    with torch.no_grad():  # larger biases than at initialisation, so a layout slip cannot hide in near-zero values
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    program = decoder_program(model)
    z = torch.randn(6, model.config.latent) * 2
    expected = model.decode(z).detach().numpy()
    got = run_program(program, z.numpy())
    assert got.shape == expected.shape == (6, *model.config.input_shape)
    assert np.abs(got - expected).max() < 1e-5


def test_linear_before_unflatten_is_stored_in_hwc_order():
    model = build_model(ModelConfig(arch="conv", hidden=(2,), input_shape=(1, 4, 6), latent=1)).eval()
    program = decoder_program(model)
    first = program.ops[0]
    assert first["op"] == "linear" and first["out"] == 2 * 2 * 3  # 2 channels on a 2×3 map
    start, length = first["b"]
    stored = program.weights[start:start + length]
    torch_bias = model.from_code.bias.detach().numpy()  # CHW: channel 0's six values, then channel 1's
    assert np.array_equal(stored, torch_bias.reshape(2, 2, 3).transpose(1, 2, 0).reshape(-1))


def test_conv_transpose_weights_are_out_kh_kw_in():
    model = build_model(ModelConfig(arch="conv", hidden=(3,), input_shape=(1, 8, 8), latent=2)).eval()
    program = decoder_program(model)
    conv = next(op for op in program.ops if op["op"] == "conv_transpose")
    assert (conv["in_c"], conv["out_c"], conv["kh"], conv["sh"], conv["ph"]) == (3, 1, 4, 2, 1)
    assert (conv["in_h"], conv["out_h"]) == (4, 8)
    start, length = conv["w"]
    stored = program.weights[start:start + length].reshape(1, 4, 4, 3)
    layer = model.decoder[-1]
    assert np.array_equal(stored[0, 1, 2, :], layer.weight.detach().numpy()[:, 0, 1, 2])


def test_multiply_adds_count_one_decode():
    dense = decoder_program(build_model(ModelConfig(hidden=(5,), latent=2, input_shape=(1, 4, 4))).eval())
    assert dense.multiply_adds == 2 * 5 + 5 * 16
    # one 2-channel 2×2 map to one 4×4 channel, kernel 4, stride 2: each output pixel sees 2×2 taps × 2 channels
    conv = decoder_program(build_model(ModelConfig(arch="conv", hidden=(2,), latent=1, input_shape=(1, 4, 4))).eval())
    assert conv.multiply_adds == 1 * 8 + 16 * 2 * 4


def test_an_unknown_layer_is_refused_with_its_name():
    model = build_model(ModelConfig(hidden=(4,), input_shape=(1, 4, 4))).eval()
    model.decoder.insert(1, nn.Dropout(0.1))
    with pytest.raises(ConfigError, match="Dropout"):
        decoder_program(model)


def test_every_shipped_model_exports():
    from models.catalog import load_catalog
    from models.checkpoint import load_checkpoint

    for entry in load_catalog():
        model, _ = load_checkpoint(entry.path)
        program = decoder_program(model)
        z = torch.randn(3, model.config.latent)
        assert np.abs(run_program(program, z.numpy()) - model.decode(z).detach().numpy()).max() < 1e-5, entry.name


@pytest.mark.parametrize("name", ["dense vae, two layers", "conv vae 64 faces"])
def test_shapes_only_program_prices_the_same_decode_without_copying(name):
    model = build_model(CONFIGS[name]).eval()
    full, shapes = decoder_program(model), decoder_program(model, with_weights=False)
    assert shapes.weights.size == 0 and shapes.weight_count == full.weight_count == full.weights.size
    assert shapes.multiply_adds == full.multiply_adds
    assert [op["op"] for op in shapes.ops] == [op["op"] for op in full.ops]
