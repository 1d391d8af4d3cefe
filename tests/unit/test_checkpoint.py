"""Checkpoints: safetensors + JSON round trip, and clear errors for every way a file can be wrong."""

import json

import pytest
import torch

from models.autoencoders import build_model
from models.checkpoint import from_bytes, load_checkpoint, paths_for, save_checkpoint, to_bytes
from models.config import ModelConfig
from models.errors import CheckpointError

CONFIGS = [
    ModelConfig(kind="vae", arch="conv", hidden=(8, 16), input_shape=(1, 64, 64), latent=4, loss="mse",
                output_activation="sigmoid"),
    ModelConfig(kind="ae", hidden=(), latent=10, code_activation="sigmoid", tied=True),
    ModelConfig(kind="ae", hidden=(32, 16), latent=2, noise="gaussian", noise_level=0.3),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["conv-vae", "tied", "deep-denoising"])
def test_round_trip_gives_an_equal_model(tmp_path, config):
    torch.manual_seed(0)
    model = build_model(config)
    record = {"dataset": "mnist", "final_heldout_loss": 12.5, "bad": float("nan")}
    weights, document = save_checkpoint(model, tmp_path / "m", record)
    assert weights.name == "m.safetensors" and document.name == "m.json"
    loaded, loaded_record = load_checkpoint(tmp_path / "m.safetensors")
    assert loaded.config == config and not loaded.training
    assert loaded_record["final_heldout_loss"] == 12.5 and loaded_record["bad"] is None
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    x = torch.rand(3, *config.input_shape)
    assert torch.equal(model.eval()(x), loaded(x))
    if config.tied:
        assert loaded.from_code.weight.data_ptr() == loaded.to_code.weight.data_ptr()


def test_json_is_plain_json_and_weights_are_not_pickle(tmp_path):
    weights, document = save_checkpoint(build_model(CONFIGS[1]), tmp_path / "m")
    data = json.loads(document.read_text())
    assert data["config"]["tied"] is True and data["format"].startswith("autoencoder-explorer/")
    assert not weights.read_bytes().startswith(b"\x80")  # a pickle stream starts with PROTO 0x80


def test_paths_for_accepts_stem_or_either_file():
    assert paths_for("a/b.json") == paths_for("a/b.safetensors") == paths_for("a/b")


@pytest.fixture
def saved():
    torch.manual_seed(0)
    return to_bytes(build_model(CONFIGS[2]), {"dataset": "mnist"})


def test_truncated_weights_raise_a_clear_error(saved):
    weights, document = saved
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        from_bytes(weights[: len(weights) // 2], document)


def test_garbage_weights_raise_a_clear_error(saved):
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        from_bytes(b"\x80\x04garbage pickle-ish bytes", saved[1])


def test_corrupt_json_raises_a_clear_error(saved):
    with pytest.raises(CheckpointError, match="not valid JSON"):
        from_bytes(saved[0], b"{not json")


def test_config_that_does_not_match_the_weights_names_the_tensor(saved):
    weights, document = saved
    data = json.loads(document)
    data["config"]["latent"] = 3
    with pytest.raises(CheckpointError, match=r"to_code.weight has shape \(2, 16\), the config needs \(3, 16\)"):
        from_bytes(weights, json.dumps(data).encode())


def test_missing_tensors_are_named(saved):
    weights, document = saved
    data = json.loads(document)
    data["config"]["kind"] = "vae"  # a VAE also needs to_logvar
    with pytest.raises(CheckpointError, match="missing to_logvar.bias, to_logvar.weight"):
        from_bytes(weights, json.dumps(data).encode())


def test_invalid_config_values_are_reported(saved):
    weights, document = saved
    data = json.loads(document)
    data["config"]["activation"] = "rm -rf"
    with pytest.raises(CheckpointError, match="config is invalid: activation must be one of"):
        from_bytes(weights, json.dumps(data).encode())
    data = json.loads(document)
    del data["config"]
    with pytest.raises(CheckpointError, match="no 'config'"):
        from_bytes(weights, json.dumps(data).encode())


def test_nan_weights_are_refused():
    model = build_model(CONFIGS[2])
    with torch.no_grad():
        model.to_code.weight[0, 0] = float("nan")
    weights, document = to_bytes(model)
    with pytest.raises(CheckpointError, match="to_code.weight contains NaN"):
        from_bytes(weights, document)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nothing.safetensors does not exist"):
        load_checkpoint(tmp_path / "nothing")


def test_a_huge_config_beside_small_weights_is_refused_before_allocating(saved, monkeypatch):
    import models.checkpoint as checkpoint

    weights, document = saved
    data = json.loads(document)
    data["config"].update(kind="vae", input_shape=[4, 128, 128], hidden=[4096] * 6, latent=1024)
    built = []
    real_build = checkpoint.build_model
    monkeypatch.setattr(checkpoint, "build_model", lambda cfg: built.append(torch.empty(0).device) or real_build(cfg))
    with pytest.raises(CheckpointError, match=r"weights do not match the config: missing"):
        from_bytes(weights, json.dumps(data).encode())
    assert [d.type for d in built] == ["meta"]  # only the free, shape-only build ran
