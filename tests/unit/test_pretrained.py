"""The shipped catalog: every entry loads, matches its config, and its recorded loss is reproducible."""

import importlib.util
import shlex
import subprocess
import sys

import pytest
import torch

from models.catalog import PRETRAINED_DIR, load_catalog
from models.checkpoint import load_checkpoint
from models.config import TrainConfig
from models.config_cli import configs_from_args
from models.data import data_dir, load_dataset
from models.training.cli import parse_command
from models.training.trainer import evaluate

REQUIRED = {"mnist_vae2", "mnist_cvae2", "mnist_ae2", "mnist_cae16", "mnist_dcae16", "mnist_tied100",
            "mnist_untied100", "mnist_sparse100", "mnist_contractive100", "mnist_vae16", "olivetti_cvae2",
            "olivetti_cae32", "olivetti_dcae32", "mnist_tanh_tied100", "mnist_tanh_untied100"}
PAIRS = {"sigmoid": ("mnist_tied100", "mnist_untied100"), "tanh": ("mnist_tanh_tied100", "mnist_tanh_untied100")}
CATALOG = {entry.name: entry for entry in load_catalog()}


def test_catalog_lists_every_required_model_and_files_exist():
    assert REQUIRED <= set(CATALOG)
    for entry in CATALOG.values():
        assert entry.path.with_suffix(".safetensors").is_file() and entry.path.with_suffix(".json").is_file()
        assert entry.command.startswith("python -m models.train ") and f"--out pretrained/{entry.name}" in entry.command
        record = entry.record
        assert record["final_heldout_loss"] is not None and record["diverged"] is False
        assert record["stopped"] is None or record["stopped"].startswith("early stop")


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_each_record_holds_its_learning_curve_and_the_epoch_kept(name):
    record = CATALOG[name].record
    history = record["history"]
    assert [h["epoch"] for h in history] == list(range(1, record["epochs"] + 1))
    assert all({"recon", "loss"} <= set(h["terms"]) and h["terms"]["loss"] == h["heldout_loss"] for h in history)
    kept = history[record["best_epoch"] - 1]
    assert kept["heldout_loss"] == min(h["heldout_loss"] for h in history)
    assert (record["final_train_loss"], record["final_heldout_loss"]) == (kept["train_loss"], kept["heldout_loss"])
    if record["stopped"]:  # an early stop waited exactly its patience after the kept epoch
        assert record["epochs"] - record["best_epoch"] == record["train"]["patience"]


@pytest.mark.parametrize("activation", sorted(PAIRS))
def test_the_tied_and_untied_pair_share_one_recipe_and_ran_until_the_held_out_loss_stopped_improving(activation):
    tied, untied = (CATALOG[name].record for name in PAIRS[activation])
    assert tied["train"] == untied["train"] and tied["train"]["patience"] is not None
    for record in (tied, untied):
        assert record["stopped"].startswith("early stop") and record["epochs"] < record["train"]["epochs"]


def test_the_tanh_pair_is_the_askers_model_with_f_tanh_at_both_ends_trained_like_the_sigmoid_pair():
    """h = tanh(Wx + b), x̂ = tanh(W′h + b′): the pair differs from the sigmoid pair only in f (and so the loss)."""
    configs = {name: load_checkpoint(CATALOG[name].path)[0].config for pair in PAIRS.values() for name in pair}
    for tied_name, untied_name in PAIRS.values():
        tied, untied = configs[tied_name], configs[untied_name]
        assert (tied.tied, untied.tied) == (True, False)
        assert {**tied.to_dict(), "tied": False} == untied.to_dict()
    tanh = configs["mnist_tanh_untied100"]
    assert (tanh.code_activation, tanh.resolved_output_activation, tanh.loss) == ("tanh", "tanh", "mse")
    assert tanh.single_layer and tanh.latent == 100
    sigmoid = configs["mnist_untied100"]
    assert {**tanh.to_dict(), "code_activation": "sigmoid", "output_activation": "auto", "loss": "bce"} == \
        sigmoid.to_dict()
    # as TrainConfigs: the sigmoid pair's records predate the precision field (its default, float32, filled in)
    trained = {name: TrainConfig.from_dict(CATALOG[name].record["train"]) for name in configs}
    assert len(set(map(repr, trained.values()))) == 1


def _training_script():
    spec = importlib.util.spec_from_file_location("train_pretrained",
                                                  PRETRAINED_DIR.parent / "scripts" / "train_pretrained.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_every_recorded_command_parses_to_the_configs_its_checkpoint_saved():
    """The command line still reads every shipped command as the run that made the checkpoint, and the
    training script still writes those same commands."""
    recipes = _training_script()
    assert {path.stem for path in PRETRAINED_DIR.glob("*.safetensors")} == set(CATALOG)
    for name, entry in CATALOG.items():
        model, record = load_checkpoint(entry.path)
        assert record["command"] == entry.command == recipes.command_for(name)
        args = parse_command(record["command"])
        assert configs_from_args(args, model.config.input_shape) == \
            (model.config, TrainConfig.from_dict(record["train"])), name
        assert (args.dataset, args.source, args.out) == (record["dataset"], entry.data_source, f"pretrained/{name}")


def test_pretrained_folder_stays_small():
    total = sum(p.stat().st_size for p in PRETRAINED_DIR.iterdir())
    assert total < 30 * 2**20, f"pretrained/ is {total / 2**20:.1f} MiB"


def _heldout(entry):
    if entry.dataset == "olivetti":
        if data_dir() is None or not (data_dir() / "olivettifaces.mat").exists():
            pytest.skip("olivettifaces.mat is not beside the repo")
        return load_dataset("olivetti", source="local").test
    return load_dataset(entry.dataset, source=entry.data_source).test


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_entry_loads_matches_its_catalog_line_and_recorded_loss(name):
    entry = CATALOG[name]
    model, record = load_checkpoint(entry.path)
    cfg = model.config
    assert (cfg.kind, cfg.arch, cfg.latent) == (entry.kind, entry.arch, entry.latent)
    assert record == entry.record
    test_x = _heldout(entry)
    assert tuple(test_x.shape[1:]) == cfg.input_shape
    with torch.no_grad():
        assert model(test_x[:4]).shape == test_x[:4].shape
        assert model.encode(test_x[:4]).shape == (4, cfg.latent)
    fresh = evaluate(model, test_x, seed=record["train"]["seed"])["loss"]
    assert fresh == pytest.approx(record["final_heldout_loss"], rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist_tied100", "mnist_tanh_tied100"])
def test_retraining_an_entry_with_its_recorded_command_reproduces_its_learning_curve(tmp_path, name):
    """The first epochs of the recorded command again (a constant learning rate, so cutting the run short
    changes nothing before the cut) give the recorded curve to 3 significant figures."""
    entry = CATALOG[name]
    assert entry.record["train"]["lr_schedule"] == "constant"
    words = shlex.split(entry.command)
    words[words.index("--out") + 1] = str(tmp_path / "again")
    words[words.index("--epochs") + 1] = "5"
    subprocess.run([sys.executable, *words[1:]], check=True, capture_output=True, cwd=PRETRAINED_DIR.parent)
    _, record = load_checkpoint(tmp_path / "again")
    again = [f"{h['heldout_loss']:.3g}" for h in record["history"]]
    assert again == [f"{h['heldout_loss']:.3g}" for h in entry.record["history"][:5]]
