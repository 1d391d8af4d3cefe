"""The configs on the command line: every field is a flag, the old flags and defaults hold, and configs →
flags → configs gives the same configs back."""

from dataclasses import fields

import pytest

from models.config import ModelConfig, TrainConfig
from models.config_cli import HELP, NOT_FLAGS, config_argv, configs_from_args
from models.training.cli import parse_args, parse_command

# What `python -m models.train --out x` parsed to before the flags came from the fields; --max-seconds and
# --weight-decay are the two fields that had no flag then.
OLD_DEFAULTS = {
    "dataset": "mnist", "source": "bundled", "data_dir": None, "image_size": None, "kind": "ae", "arch": "dense",
    "hidden": [256], "latent": 2, "activation": "relu", "code_activation": "identity", "output_activation": "auto",
    "tied": False, "loss": "bce", "beta": 1.0, "noise": "none", "noise_level": 0.0, "sparsity": "none",
    "sparsity_weight": 0.0, "sparsity_target": 0.05, "contractive_weight": 0.0, "conv_dense": 0, "epochs": 10,
    "batch_size": 128, "lr": 1e-3, "seed": 0, "threads": None, "patience": None, "lr_schedule": "constant",
    "kl_warmup": 0, "shift": 0, "ema": 0.0, "precision": "float32", "device": "cpu", "out": "x",
}
SHAPE = (1, 28, 28)
CASES = {
    "defaults": (ModelConfig(), TrainConfig()),
    "dense vae": (ModelConfig(kind="vae", hidden=(512, 256), latent=2, beta=4.0),
                  TrainConfig(epochs=50, batch_size=32, patience=10, ema=0.999, kl_warmup=3, lr_schedule="cosine")),
    "conv denoiser": (ModelConfig(arch="conv", input_shape=(1, 64, 64), hidden=(32, 64, 128), conv_dense=512,
                                  latent=32, loss="mse", output_activation="sigmoid", noise="gaussian",
                                  noise_level=0.5),
                      TrainConfig(epochs=200, shift=2, precision="bfloat16", threads=2, seed=7)),
    "tied sparse single layer": (ModelConfig(hidden=(), latent=100, code_activation="sigmoid", tied=True,
                                             sparsity="kl", sparsity_weight=3.0, sparsity_target=0.1),
                                 TrainConfig(lr=3e-3, epochs=2000, patience=20)),
    "contractive, odd floats": (ModelConfig(activation="tanh", code_activation="sigmoid", latent=7,
                                            contractive_weight=1 / 3, sparsity="l1", sparsity_weight=0.1234567891),
                                TrainConfig(lr=2.5e-4, weight_decay=1e-5, max_seconds=60.5, batch_size=1)),
    "masking ae": (ModelConfig(hidden=(8,), noise="masking", noise_level=0.25, loss="mse"), TrainConfig(epochs=1)),
}


def test_every_field_but_the_input_shape_is_a_flag_with_the_old_names_and_defaults():
    parsed = vars(parse_args(["--out", "x"]))
    assert parsed == {**OLD_DEFAULTS, "max_seconds": None, "weight_decay": 0.0}
    names = {f.name for cls in (ModelConfig, TrainConfig) for f in fields(cls)}
    assert names - set(parsed) == NOT_FLAGS == {"input_shape"}
    assert names - NOT_FLAGS <= set(HELP)


@pytest.mark.parametrize("name", sorted(CASES))
def test_configs_give_flags_that_give_the_same_configs_back(name):
    model_config, train_config = CASES[name]
    argv = config_argv(model_config, train_config)
    back = configs_from_args(parse_args([*argv, "--out", "x"]), model_config.input_shape)
    assert back == (model_config, train_config)
    # Only the fields that differ from their defaults are written, one flag each.
    differ = [f.name for config in CASES[name] for f in fields(config)
              if f.name != "input_shape" and getattr(config, f.name) != f.default]
    assert [word[2:].replace("-", "_") for word in argv if word.startswith("--")] == differ


def test_the_flags_come_in_the_fields_order_with_short_numbers():
    model_config, train_config = CASES["tied sparse single layer"]
    assert config_argv(model_config, train_config) == [
        "--hidden", "--latent", "100", "--code-activation", "sigmoid", "--tied", "--sparsity", "kl",
        "--sparsity-weight", "3", "--sparsity-target", "0.1", "--epochs", "2000", "--lr", "0.003",
        "--patience", "20"]
    assert config_argv(*CASES["defaults"]) == []
    assert "0.1234567891" in config_argv(*CASES["contractive, odd floats"])  # not rounded to 6 digits


def test_a_parsed_command_keeps_its_old_meaning():
    args = parse_command("python -m models.train --dataset olivetti --source local --data-dir ../d --hidden "
                         "--latent 100 --tied --noise-level 0.5 --conv-dense 8 --lr-schedule cosine --kl-warmup 2 "
                         "--precision bfloat16 --image-size 64 64 --device auto --out pretrained/x")
    assert (args.dataset, args.source, args.data_dir, args.image_size, args.device, args.out) == \
        ("olivetti", "local", "../d", [64, 64], "auto", "pretrained/x")
    model_config, train_config = configs_from_args(args, SHAPE)
    assert (model_config.hidden, model_config.latent, model_config.tied, model_config.noise_level,
            model_config.conv_dense) == ((), 100, True, 0.5, 8)
    assert (train_config.lr_schedule, train_config.kl_warmup, train_config.precision) == ("cosine", 2, "bfloat16")
    with pytest.raises(ValueError, match="not a `python -m models.train` command"):
        parse_command("python train.py --out x")


@pytest.mark.parametrize("argv", [["--kind", "gan"], ["--latent", "two"], ["--precision", "float16"],
                                  ["--activation", "swish"]])
def test_a_bad_value_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args([*argv, "--out", "x"])
    assert exit_.value.code == 2 and "invalid" in capsys.readouterr().err
