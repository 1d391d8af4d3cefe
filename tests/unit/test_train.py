"""Training: it learns on real digits, it is reproducible, and it never ends on broken weights."""

import json

import pytest
import torch

from models.autoencoders import build_model
from models.checkpoint import load_checkpoint
from models.config import ModelConfig, TrainConfig
from models.data import Dataset, load_dataset
from models.errors import ConfigError, TrainingError
from models.training.cli import main
from models.training.result import training_record
from models.training.trainer import WeightAverage, _set_lr, _warmed_loss, evaluate, native_bfloat16, shift_images, train


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
    assert result.stopped is not None and "nan" in result.stopped.lower() and result.diverged
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


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _damage_after(model, epoch, noise=0.0, scale=1.0):
    """on_progress that snapshots every epoch and, after `epoch`, multiplies each weight by
    scale·(1 + noise·ε), ε ~ N(0,1): the next epoch's held-out loss is then worse than this one's."""
    snapshots = {}

    def progress(stats):
        snapshots[stats["epoch"]] = _state(model)
        if stats["epoch"] == epoch:
            with torch.no_grad():
                generator = torch.Generator().manual_seed(0)
                for p in model.parameters():
                    p.mul_(scale * (1 + noise * torch.randn(p.shape, generator=generator)))
    return progress, snapshots


def test_the_best_held_out_epoch_is_kept_and_recorded(digits):
    model = small_model()
    progress, snapshots = _damage_after(model, epoch=2, scale=0.0)  # zeroed: 20 Adam steps cannot undo it
    result = train(model, digits, TrainConfig(epochs=3, batch_size=100, lr=3e-3), on_progress=progress)
    losses = [h["heldout_loss"] for h in result.history]
    assert result.epochs_completed == 3 and losses[2] > losses[1]
    assert result.best_epoch == 2 and not result.diverged and result.stopped is None
    assert all(torch.equal(v, snapshots[2][k]) for k, v in model.state_dict().items())
    assert result.final_heldout_loss == losses[1] == pytest.approx(evaluate(model, digits[1])["loss"], rel=1e-6)
    assert result.final_train_loss == result.history[1]["train_loss"]
    assert result.initial_heldout_loss > losses[0]


def test_early_stopping_waits_patience_epochs_then_keeps_the_best(digits):
    model = small_model()
    progress, snapshots = _damage_after(model, epoch=2, scale=0.0)
    result = train(model, digits, TrainConfig(epochs=10, batch_size=100, lr=3e-3, patience=1),
                   on_progress=progress)
    assert result.epochs_completed == 3 and result.best_epoch == 2
    assert result.stopped.startswith("early stop") and "epoch 2" in result.stopped
    assert all(torch.equal(v, snapshots[2][k]) for k, v in model.state_dict().items())


def test_a_finite_explosion_is_flagged_as_diverged_and_the_best_epoch_kept(digits):
    model = small_model()
    progress, snapshots = _damage_after(model, epoch=1, scale=1e3)  # held-out loss in the tens of thousands
    result = train(model, digits, TrainConfig(epochs=5, batch_size=100, lr=3e-3), on_progress=progress)
    assert result.diverged and result.epochs_completed == 1 and result.best_epoch == 1
    assert "exploded" in result.stopped and "epoch 2" in result.stopped and "epoch 1" in result.stopped
    assert all(torch.equal(v, snapshots[1][k]) for k, v in model.state_dict().items())


def test_learning_rate_10_on_the_default_model_keeps_the_untrained_weights_and_says_so(digits):
    torch.manual_seed(0)
    model = build_model(ModelConfig())
    start = _state(model)
    result = train(model, digits, TrainConfig(epochs=3, lr=10.0))
    assert result.diverged and result.best_epoch == 0 and result.epochs_completed == 0
    assert "exploded" in result.stopped and "untrained starting weights" in result.stopped
    assert "smaller learning rate" in result.stopped
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())
    assert result.final_heldout_loss == result.initial_heldout_loss == pytest.approx(
        evaluate(model, digits[1])["loss"], rel=1e-6)


def test_the_record_holds_every_epoch_and_the_kept_one(digits):
    model = small_model(kind="vae")
    result = train(model, digits, TrainConfig(epochs=3, batch_size=500))

    data = Dataset(name="mnist", train=digits[0], test=digits[1], train_labels=None, test_labels=None,
                   label_names=None, source="bundled")
    record = json.loads(json.dumps(training_record(result, data, TrainConfig(epochs=3))))
    assert [h["epoch"] for h in record["history"]] == [1, 2, 3]
    assert set(record["history"][0]["terms"]) == {"recon", "kl", "loss"}
    kept = record["history"][record["best_epoch"] - 1]
    assert record["best_epoch"] == min(record["history"], key=lambda h: h["heldout_loss"])["epoch"]
    assert (record["final_train_loss"], record["final_heldout_loss"]) == (kept["train_loss"], kept["heldout_loss"])
    assert record["diverged"] is False and record["stopped"] is None


def test_on_step_reports_the_running_loss_every_few_batches(digits):
    steps = []
    result = train(small_model(), digits, TrainConfig(epochs=2, batch_size=100), on_step=steps.append, step_every=5)
    assert [(s["epoch"], s["batch"]) for s in steps] == [(e, b) for e in (1, 2) for b in (5, 10, 15, 20)]
    assert all(s["batches"] == 20 for s in steps)
    assert steps[3]["train_loss"] == pytest.approx(result.history[0]["train_loss"], rel=1e-6)  # batch 20 of 20


def test_shift_moves_each_image_by_at_most_the_shift_and_repeats_the_edges():
    x = torch.arange(25.0).reshape(1, 1, 5, 5).repeat(400, 1, 1, 1)
    shifted = shift_images(x, 1, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x[:1], (1, 1, 1, 1), mode="replicate")[0, 0]
    windows = {(dy, dx): padded[dy:dy + 5, dx:dx + 5] for dy in range(3) for dx in range(3)}
    seen = set()
    for image in shifted[:, 0]:
        match = [key for key, window in windows.items() if torch.equal(image, window)]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == set(windows)  # all nine offsets occur in 400 draws
    assert torch.equal(shift_images(x, 0), x)
    assert torch.equal(windows[(1, 1)], x[0, 0]) and torch.equal(windows[(0, 0)][0], torch.tensor([0.0, 0, 1, 2, 3]))


def test_kl_warm_up_scales_the_kl_term_and_cosine_decays_the_learning_rate():
    model = small_model(kind="vae", beta=2.0)
    terms = {"recon": torch.tensor(10.0), "kl": torch.tensor(4.0), "loss": torch.tensor(18.0)}
    warm = TrainConfig(kl_warmup=4)
    assert _warmed_loss(terms, model, warm, 0.0).item() == 10.0
    assert _warmed_loss(terms, model, warm, 2.0).item() == 14.0  # recon + ½·β·KL
    assert _warmed_loss(terms, model, warm, 4.0).item() == 18.0
    assert _warmed_loss(terms, model, TrainConfig(), 0.0).item() == 18.0
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    cosine = TrainConfig(lr=1e-3, lr_schedule="cosine")
    for progress, expected in ((0.0, 1e-3), (0.5, 5e-4), (1.0, 0.0)):
        _set_lr(optimizer, cosine, progress)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, abs=1e-12)


def test_weight_average_follows_the_warmed_up_decay_and_swaps_back():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    average = WeightAverage(model, decay=0.9)
    expected = 0.0
    for step, value in enumerate((1.0, 2.0, 4.0), start=1):
        with torch.no_grad():
            model.weight.fill_(value)
        average.update()
        decay = min(0.9, (1 + step) / (10 + step))  # 2/11, 3/12, 4/13
        expected = decay * expected + (1 - decay) * value
    assert average.shadow[0].item() == pytest.approx(expected, rel=1e-6)
    average.swap()
    assert model.weight.item() == pytest.approx(expected, rel=1e-6) and average.shadow[0].item() == 4.0
    average.swap()
    assert model.weight.item() == 4.0


def test_training_with_weight_averaging_keeps_the_averaged_weights(digits):
    model = small_model()
    raw = []  # on_progress sees the raw weights: training goes on from them, not from the average
    result = train(model, digits, TrainConfig(epochs=2, batch_size=100, ema=0.99),
                   on_progress=lambda s: raw.append(_state(model)))
    assert result.best_epoch == 2
    assert result.final_heldout_loss == pytest.approx(evaluate(model, digits[1])["loss"], rel=1e-6)
    assert not torch.equal(model.to_code.weight, raw[-1]["to_code.weight"])
    model.load_state_dict(raw[-1])
    assert evaluate(model, digits[1])["loss"] != pytest.approx(result.final_heldout_loss, rel=1e-6)


def test_wrong_image_shape_and_bad_settings_are_refused(digits):
    model = build_model(ModelConfig(input_shape=(1, 64, 64), hidden=(8,)))
    with pytest.raises(TrainingError, match=r"\(1, 28, 28\) but the model expects \(1, 64, 64\)"):
        train(model, digits, TrainConfig(epochs=1))
    with pytest.raises(ConfigError, match="learning rate"):
        train(small_model(), digits, TrainConfig(epochs=1, lr=float("nan")))
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(ConfigError, match="patience"):
        TrainConfig(patience=0).validate()
    with pytest.raises(ConfigError, match="shift"):
        TrainConfig(shift=99).validate()
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainConfig(lr_schedule="step").validate()
    with pytest.raises(ConfigError, match="warm-up"):
        TrainConfig(kl_warmup=-1).validate()
    with pytest.raises(ConfigError, match="EMA"):
        TrainConfig(ema=1.0).validate()
    with pytest.raises(ConfigError, match="precision must be one of float32, bfloat16; got 'float16'"):
        TrainConfig(precision="float16").validate()


def test_mixed_precision_trains_in_bfloat16_and_scores_in_float32(digits):
    model = small_model(kind="vae")
    dtypes = {True: set(), False: set()}  # module.training → dtypes its layer produced
    model.to_code.register_forward_hook(lambda module, _, out: dtypes[module.training].add(out.dtype))
    before = evaluate(model, digits[1])["loss"]
    result = train(model, digits, TrainConfig(epochs=3, batch_size=100, lr=3e-3, precision="bfloat16"))
    assert dtypes[True] == {torch.bfloat16} and dtypes[False] == {torch.float32}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert result.final_heldout_loss < 0.6 * before
    assert result.final_heldout_loss == pytest.approx(evaluate(model, digits[1])["loss"], rel=1e-6)
    assert all(isinstance(h["train_loss"], float) and h["train_loss"] > 0 for h in result.history)
    assert isinstance(native_bfloat16(), bool) and native_bfloat16("meta") is False


def test_command_line_trains_and_saves_a_checkpoint_with_its_record(tmp_path, capsys):
    out = tmp_path / "tiny"
    argv = ["--dataset", "lfw", "--source", "bundled", "--kind", "vae", "--arch", "conv", "--hidden", "8",
            "--latent", "2", "--loss", "mse", "--output-activation", "sigmoid", "--epochs", "2", "--patience", "5",
            "--lr-schedule", "cosine", "--kl-warmup", "1", "--shift", "1", "--precision", "bfloat16", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "epoch   2/2" in printed and "held-out" in printed
    model, record = load_checkpoint(out)
    assert model.config.input_shape == (1, 25, 25) and model.config.kind == "vae"
    assert record["epochs"] == 2 and record["dataset"] == "lfw" and record["train_size"] == 90
    assert record["command"].startswith("python -m models.train --dataset lfw")
    assert record["final_heldout_loss"] == pytest.approx(evaluate(model, load_dataset("lfw").test)["loss"], rel=1e-5)
    saved = json.loads(out.with_suffix(".json").read_text())["record"]
    assert saved["train"]["epochs"] == 2 and saved["train"]["patience"] == 5 and saved["train"]["shift"] == 1
    assert saved["train"]["precision"] == "bfloat16"
    assert [h["epoch"] for h in saved["history"]] == [1, 2] and saved["best_epoch"] in (1, 2)
    assert saved["final_heldout_loss"] == saved["history"][saved["best_epoch"] - 1]["heldout_loss"]
