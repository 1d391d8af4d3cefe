"""models/analysis/tied_untied.py (tied against untied) and the slerp of models.autoencoders.interpolate_codes,
each against numbers worked by hand. The decodings of question (b): tests/unit/test_decodings.py."""

from __future__ import annotations

import json
import math
from unittest import mock

import pytest
import torch

from models.analysis.tied_untied import (GAP_FORMAT, GapRow, GapTable, gap_document, learning_curve, load_gap_table,
                                         parameter_count, train_until_stopped)
from models.autoencoders import build_model, interpolate_codes
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.config import ModelConfig, TrainConfig
from models.errors import CheckpointError
from tests import ROOT

CATALOG = {entry.name: entry for entry in load_catalog()}


# --- slerp ------------------------------------------------------------------------------------------------------------
def _pairs(n: int = 1000, seed: int = 0):
    """Random pairs of many kinds: any direction, nearly opposite, nearly equal, very different norms."""
    g = torch.Generator().manual_seed(seed)
    for i in range(n):
        dim = [2, 3, 16, 100][i % 4]
        z0 = torch.randn(dim, generator=g) * 10 ** float(torch.empty(1).uniform_(-2, 2, generator=g))
        kind = i % 5
        if kind == 0:
            z1 = torch.randn(dim, generator=g) * 10 ** float(torch.empty(1).uniform_(-2, 2, generator=g))
        elif kind == 1:  # nearly opposite
            z1 = -z0 * float(torch.empty(1).uniform_(0.1, 10, generator=g)) + 1e-4 * torch.randn(dim, generator=g)
        elif kind == 2:  # exactly opposite
            z1 = -2.5 * z0
        elif kind == 3:  # nearly equal
            z1 = z0 + 1e-6 * torch.randn(dim, generator=g)
        else:  # same direction, another norm
            z1 = z0 * float(torch.empty(1).uniform_(0.01, 100, generator=g))
        yield z0, z1


def test_slerp_midpoint_norm_stays_within_the_endpoints_range_over_1000_seeded_pairs():
    worst = 0.0
    for z0, z1 in _pairs():
        path = interpolate_codes(z0, z1, 9, "slerp")
        assert torch.isfinite(path).all()
        low, high = sorted([z0.norm().item(), z1.norm().item()])
        mid = path[4].norm().item()
        worst = max(worst, mid / high - 1, 1 - mid / low)
        assert low * 0.99 <= mid <= high * 1.01, (z0, z1, mid)
        assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    assert worst < 0.01


def test_slerp_turns_at_a_constant_rate_and_moves_the_norm_linearly():
    z0, z1 = torch.tensor([2.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, -4.0])
    path = interpolate_codes(z0, z1, 5, "slerp")
    assert path.norm(dim=1).tolist() == pytest.approx([2.0, 2.5, 3.0, 3.5, 4.0], abs=1e-5)
    unit = path / path.norm(dim=1, keepdim=True)
    steps = torch.arccos((unit[1:] * unit[:-1]).sum(1).clamp(-1, 1))
    assert steps.tolist() == pytest.approx([math.pi / 8] * 4, abs=1e-5)
    # exactly opposite: still a half circle of constant norm, through a direction at right angles
    half = interpolate_codes(torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 0.0]), 3, "slerp")
    assert half[1].norm().item() == pytest.approx(1.0) and abs(half[1][0].item()) < 1e-6


def test_slerp_of_the_shipped_2d_vae_held_out_pairs_never_leaves_the_endpoints_range():
    if "mnist_vae2" not in CATALOG:
        pytest.skip("the 2-D VAE is not shipped")
    from models.data import load_dataset  # noqa: PLC0415

    model, _ = load_checkpoint(CATALOG["mnist_vae2"].path)
    codes = model.embed(load_dataset("mnist", source="bundled").test)
    g = torch.Generator().manual_seed(1)
    pairs = torch.randint(len(codes), (1000, 2), generator=g)
    for a, b in pairs.tolist():
        mid = interpolate_codes(codes[a], codes[b], 3, "slerp")[1].norm().item()
        low, high = sorted([codes[a].norm().item(), codes[b].norm().item()])
        assert low * 0.99 <= mid <= high * 1.01


# --- tied against untied ----------------------------------------------------------------------------------------------
def test_parameter_count_counts_a_tied_matrix_once():
    tied = build_model(ModelConfig(hidden=(), latent=100, code_activation="sigmoid", tied=True))
    untied = build_model(ModelConfig(hidden=(), latent=100, code_activation="sigmoid", tied=False))
    assert parameter_count(tied) == 784 * 100 + 100 + 784
    assert parameter_count(untied) == 2 * 784 * 100 + 100 + 784


def test_learning_curve_reads_the_history_and_says_none_when_absent_or_broken():
    history = [{"epoch": e, "train_loss": 10.0 - e, "heldout_loss": 12.0 - e + (e == 3) * 5, "terms": {}}
               for e in (1, 2, 3)]
    curve = learning_curve({"history": history, "best_epoch": 2})
    assert curve.epochs == [1, 2, 3] and curve.train == [9.0, 8.0, 7.0] and curve.heldout == [11.0, 10.0, 14.0]
    assert curve.best_epoch == 2
    assert learning_curve({"history": history, "best_epoch": 9}).best_epoch is None  # not an epoch it ran
    assert learning_curve({}) is None and learning_curve({"history": []}) is None
    assert learning_curve({"history": [{"epoch": 1}]}) is None
    assert learning_curve({"history": [{"epoch": 1, "train_loss": float("nan"), "heldout_loss": 1.0}]}) is None


def test_train_until_stopped_keeps_the_best_held_out_epoch_and_stops_after_patience():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(), latent=8, code_activation="sigmoid", input_shape=(1, 4, 4)))
    g = torch.Generator().manual_seed(0)
    train_x, heldout_x = torch.rand(12, 1, 4, 4, generator=g), torch.rand(40, 1, 4, 4, generator=g)
    seen = []
    run = train_until_stopped(model, train_x, heldout_x, TrainConfig(epochs=400, batch_size=4, lr=0.05),
                              patience=3, report=seen.append)
    heldout = [s["heldout_loss"] for s in seen]
    assert run.epochs_run == len(seen)
    assert run.best_epoch == 1 + heldout.index(min(heldout)) and run.heldout_loss == min(heldout)
    if run.epochs_run < 400:  # stopped early: exactly `patience` epochs after the best
        assert run.epochs_run == run.best_epoch + 3 and "no held-out improvement for 3 epochs" in run.stopped
    assert run.gap == pytest.approx(run.heldout_loss - run.train_loss)
    assert run.train_loss < run.heldout_loss  # 12 training images: it fits them better than unseen ones


def _row(width, size, tied, train, heldout):
    return GapRow(width=width, train_size=size, tied=tied, parameters=1, train_loss=train, heldout_loss=heldout,
                  best_epoch=5, epochs_run=9)


def test_gap_table_round_trips_and_pairs_tied_with_untied(tmp_path):
    rows = [_row(50, 500, True, 90, 110), _row(50, 500, False, 80, 115), _row(50, 4500, True, 100, 104),
            _row(100, 4500, False, 70, 75)]  # width 100 has no tied run: no pair
    path = tmp_path / "gap.json"
    path.write_text(json.dumps(gap_document(rows, {"lr": 0.003})))
    table = load_gap_table(path)
    assert table.recipe == {"lr": 0.003} and table.widths == [50, 100] and table.train_sizes == [4500, 500]
    assert [(t.train_size, t.width, u.gap) for t, u in table.pairs()] == [(500, 50, 35.0)]
    assert table.row(50, 500, True).gap == 20.0


def test_gap_table_pairs_the_main_seed_and_measures_repeats_of_other_seeds():
    rows = [_row(50, 500, True, 90, 110), _row(50, 500, False, 80, 115),  # seed 0: untied − tied gap = 15
            GapRow(50, 500, True, 1, 91, 105, 5, 9, seed=1), GapRow(50, 500, False, 2, 82, 104, 5, 9, seed=1)]  # 8
    table = GapTable(rows=rows, recipe={"seed": 0})
    assert [(t.seed, u.seed) for t, u in table.pairs()] == [(0, 0)]
    assert [(t.seed, u.seed) for t, u in table.pairs(seed=1)] == [(1, 1)]
    assert table.seed_repeats() == [(500, 50, {0: 15.0, 1: 8.0})]
    assert GapTable(rows=rows[:2], recipe={}).seed_repeats() == []


def test_gap_table_absent_is_none_and_malformed_is_a_clear_error(tmp_path):
    assert load_gap_table(tmp_path / "missing.json") is None
    bad = tmp_path / "bad.json"
    for text in ("{not json", json.dumps({"format": "other", "rows": []}),
                 json.dumps({"format": GAP_FORMAT, "rows": [{"width": 5}]}),
                 json.dumps({"format": GAP_FORMAT, "rows": [{**_row(5, 5, True, 1, 2).__dict__,
                                                             "train_loss": "NaN"}]})):
        bad.write_text(text)
        with pytest.raises(CheckpointError, match="bad.json"):
            load_gap_table(bad)


def test_the_gap_script_quick_mode_writes_a_table_the_page_can_read(tmp_path):
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        "tied_untied_gap", ROOT / "scripts" / "tied_untied_gap.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "gap.json"
    assert script.main(["--quick", "--out", str(out)]) == 0
    table = load_gap_table(out)
    assert isinstance(table, GapTable) and len(table.pairs()) == 2
    assert {r.train_size for r in table.rows} == {200, 50} and all(r.epochs_run <= 6 for r in table.rows)
    assert table.recipe["patience"] == 2 and "--quick" in table.recipe["command"]
    assert [(size, width, sorted(d)) for size, width, d in table.seed_repeats()] == [(50, 4, [0, 1])]
    # a second run with --reuse takes every run from the first table instead of training again
    again = tmp_path / "again.json"
    with mock.patch.object(script, "train_until_stopped", side_effect=AssertionError("trained again")):
        assert script.main(["--quick", "--out", str(again), "--reuse", str(out)]) == 0
    assert load_gap_table(again).rows == table.rows
