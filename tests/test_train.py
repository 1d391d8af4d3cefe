"""Training: it learns on real digits, it is reproducible, and it never ends on broken weights."""

import json

import pytest
import torch

from models.autoencoders import build_model
from models.checkpoint import load_checkpoint
from models.config import ModelConfig, TrainConfig
from models.data import load_dataset
from models.errors import ConfigError, TrainingError
from models.train import evaluate, main, train


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("mnist", source="bundled")
    return data.train[:2000], data.test[:200]


def small_model(seed=0, **options):
    torch.manual_seed(seed)
    return build_model(ModelConfig(hidden=(64,), latent=8, **options))


def test_a_few_hundred_steps_lower_the_loss_on_real_digits(digits):
    model = small_model()
    before = evaluate(model, digits[1])["loss"]
    seen = []
    result = train(model, digits, TrainConfig(epochs=16, batch_size=100, lr=3e-3), on_progress=seen.append)
    assert len(seen) == 16 and [s["epoch"] for s in seen] == list(range(1, 17))  # 320 steps
    after = result.final_heldout_loss
    assert after < 0.5 * before, (before, after)  # BCE of a random model ≈ 540; a trained one far lower
    assert seen[-1]["train_loss"] < seen[0]["train_loss"]
    assert after == pytest.approx(evaluate(model, digits[1])["loss"], rel=1e-6)
    assert not model.training


def test_same_seed_gives_the_same_losses(digits):
    runs = []
    for _ in range(2):
        model = small_model(kind="vae")
        runs.append(train(model, digits, TrainConfig(epochs=2, seed=3)).history)
    assert [h["heldout_loss"] for h in runs[0]] == [h["heldout_loss"] for h in runs[1]]


def test_nan_loss_stops_training_and_restores_the_last_good_weights(digits):
    model = small_model()
    train(model, digits, TrainConfig(epochs=1))
    good = {k: v.clone() for k, v in model.state_dict().items()}
    poisoned = digits[0].clone()
    poisoned[::7] = float("nan")  # every batch now holds NaN pixels
    result = train(model, (poisoned, digits[1]), TrainConfig(epochs=3))
    assert result.stopped is not None and "nan" in result.stopped.lower()
    assert "restored" in result.stopped and "learning rate" in result.stopped
    assert result.epochs_completed == 0
    for key, value in model.state_dict().items():
        assert torch.equal(value, good[key]), key


def test_divergence_midway_keeps_the_previous_epoch(digits):
    model = small_model()
    calls = {"n": 0}
    original = model.loss

    def loss_that_breaks(x, **kw):
        calls["n"] += 1
        terms = original(x, **kw)
        if calls["n"] > 25 and model.training:  # epoch 2 of 20 batches
            terms["loss"] = terms["loss"] * float("inf")
        return terms

    model.loss = loss_that_breaks
    snapshots = []
    result = train(model, digits, TrainConfig(epochs=5, batch_size=100),
                   on_progress=lambda s: snapshots.append({k: v.clone() for k, v in model.state_dict().items()}))
    assert result.epochs_completed == 1 and "epoch 2" in result.stopped and "epoch 1 were restored" in result.stopped
    assert all(torch.equal(v, snapshots[0][k]) for k, v in model.state_dict().items())


def test_stop_request_keeps_the_last_full_epoch(digits):
    model = small_model()
    state = {"epochs": 0}
    result = train(model, digits, TrainConfig(epochs=5, batch_size=500),
                   on_progress=lambda s: state.update(epochs=s["epoch"]),
                   should_stop=lambda: state["epochs"] >= 2)
    assert result.epochs_completed == 2 and "stopped by request during epoch 3" in result.stopped


def test_time_cap_ends_training_early(digits):
    result = train(small_model(), digits, TrainConfig(epochs=50, max_seconds=1e-3))
    assert result.epochs_completed == 1 and "time cap" in result.stopped


def test_wrong_image_shape_and_bad_settings_are_refused(digits):
    model = build_model(ModelConfig(input_shape=(1, 64, 64), hidden=(8,)))
    with pytest.raises(TrainingError, match=r"\(1, 28, 28\) but the model expects \(1, 64, 64\)"):
        train(model, digits, TrainConfig(epochs=1))
    with pytest.raises(ConfigError, match="learning rate"):
        train(small_model(), digits, TrainConfig(epochs=1, lr=float("nan")))
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0).validate()


def test_command_line_trains_and_saves_a_checkpoint_with_its_record(tmp_path, capsys):
    out = tmp_path / "tiny"
    argv = ["--dataset", "lfw", "--source", "bundled", "--kind", "vae", "--arch", "conv", "--hidden", "8",
            "--latent", "2", "--loss", "mse", "--output-activation", "sigmoid", "--epochs", "2", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "epoch   2/2" in printed and "held-out" in printed
    model, record = load_checkpoint(out)
    assert model.config.input_shape == (1, 25, 25) and model.config.kind == "vae"
    assert record["epochs"] == 2 and record["dataset"] == "lfw" and record["train_size"] == 90
    assert record["command"].startswith("python -m models.train --dataset lfw")
    assert record["final_heldout_loss"] == pytest.approx(evaluate(model, load_dataset("lfw").test)["loss"], rel=1e-5)
    assert json.loads(out.with_suffix(".json").read_text())["record"]["train"]["epochs"] == 2
