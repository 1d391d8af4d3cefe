"""The shipped catalog: every entry loads, matches its config, and its recorded loss is reproducible."""

import shlex
import subprocess
import sys

import pytest
import torch

from models.catalog import PRETRAINED_DIR, load_catalog
from models.checkpoint import load_checkpoint
from models.data import data_dir, load_dataset
from models.train import evaluate

REQUIRED = {"mnist_vae2", "mnist_cvae2", "mnist_ae2", "mnist_cae16", "mnist_dcae16", "mnist_tied100",
            "mnist_untied100", "mnist_sparse100", "mnist_contractive100", "mnist_vae16", "olivetti_cvae2",
            "olivetti_cae32"}
CATALOG = {entry.name: entry for entry in load_catalog()}


def test_catalog_lists_every_required_model_and_files_exist():
    assert REQUIRED <= set(CATALOG)
    for entry in CATALOG.values():
        assert entry.path.with_suffix(".safetensors").is_file() and entry.path.with_suffix(".json").is_file()
        assert entry.command.startswith("python -m models.train ") and f"--out pretrained/{entry.name}" in entry.command
        assert entry.record["final_heldout_loss"] is not None and entry.record["stopped"] is None


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


def test_retraining_an_entry_with_its_recorded_command_reproduces_its_loss(tmp_path):
    entry = CATALOG["mnist_tied100"]
    words = shlex.split(entry.command)
    words[words.index("--out") + 1] = str(tmp_path / "again")
    subprocess.run([sys.executable, *words[1:]], check=True, capture_output=True,
                   cwd=PRETRAINED_DIR.parent)
    _, record = load_checkpoint(tmp_path / "again")
    assert f"{record['final_heldout_loss']:.3g}" == f"{entry.record['final_heldout_loss']:.3g}"
