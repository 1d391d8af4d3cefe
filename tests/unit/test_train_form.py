"""The Train page's plain parts: the form turned into configs, what it warns about, the command that repeats a run,
checkpoint uploads, and what a run keeps of its frames to replay (ui/train/form.py, ui/train/runs.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import ui.train.runs as train_runs
from models.checkpoint import to_bytes
from models.config import ModelConfig, TrainConfig
from models.errors import CheckpointError, ConfigError
from models.jobs.embedded import EmbeddedQueue
from models.training.job import TrainSpec, train_job
from ui.latent_plane.payload import unpack
from ui.train.form import (TrainForm, build_configs, cli_command, epoch_table, few_steps_warning, fields_that_apply,
                           fresh_model, parse_hidden, read_checkpoint_upload)
from ui.train.runs import Frame, TrainingRun

RUN_KEY, LAST_RUN_KEY = "train_run", "train_last_run"  # ui/train/live.py's keys


# --- a run's frames on the plane ---------------------------------------------------------------------------
def frames_of(mnist, config: ModelConfig, inbox=None) -> TrainingRun:
    pool = EmbeddedQueue(1, "thread")
    try:
        run = TrainingRun(name="trained-p1an3", dataset="mnist", data=mnist, model_config=config,
                          train_config=TrainConfig(epochs=1, batch_size=256), title="t", inbox=inbox)
        run.job = pool.submit(train_job, TrainSpec(config, run.train_config, mnist, frame_seconds=0.0).to_wire(),
                              on_message=run.receive, on_end=run.end)
        assert run.job.wait(60)
    finally:
        pool.shutdown()
    return run


@pytest.mark.parametrize("latent, mode", [(2, "latent"), (6, "pca")])
def test_a_frame_payload_carries_that_moment_s_decoder_and_codes(mnist, latent, mode):
    run = frames_of(mnist, ModelConfig(kind="vae", hidden=(16,), latent=latent))
    frame = run.frames[1]
    header, arrays = unpack(run.payload(frame))
    assert header["id"] == "train:trained-p1an3" and header["plane"]["mode"] == mode
    assert np.array_equal(arrays["weights"], frame.weights.astype(np.float32))
    assert np.array_equal(arrays["codes"].reshape(-1, latent), frame.codes) and len(arrays["thumbs"]) == 0
    assert np.array_equal(arrays["labels"], mnist.test_labels.numpy()[:len(frame.codes)])
    x0, x1, y0, y1 = header["plane"]["extent"]
    inside = ((frame.xy[:, 0] >= x0) & (frame.xy[:, 0] <= x1) & (frame.xy[:, 1] >= y0) & (frame.xy[:, 1] <= y1))
    assert inside.mean() > (0.99 if mode == "latent" else 0.9)
    assert run.cached_payload(frame) is run.cached_payload(frame)  # packed once per frame


def test_replay_frames_stay_within_their_budget_spread_over_the_run():
    frame = dict(label="", terms={"loss": 1.0}, codes=np.zeros((10, 2), np.float32), xy=np.zeros((10, 2), np.float32),
                 pca=None, weights=np.zeros(1000, np.float32), mosaic=np.zeros((8, 8), np.uint8))
    run = TrainingRun(name="r", dataset="mnist", data=None, model_config=ModelConfig(), train_config=TrainConfig(),
                      title="r")
    for i in range(200):
        run.receive("frame", {**frame, "epoch": i / 10, "seconds": i / 10})
    seconds = [f.seconds for f in run.frames]
    assert len(seconds) == train_runs.MAX_REPLAY_FRAMES and seconds[0] == 0 and seconds[-1] == pytest.approx(19.9)
    gaps = np.diff(seconds)
    assert gaps.max() <= 3 * gaps.min()  # evenly spread, not the last 40
    assert run.frames[0].weights.dtype == np.float16 and run.latest.weights.dtype == np.float32
    assert run.frames_seen == 200 and len(run.curve) == 200


def test_the_batch_counter_follows_the_newest_report_one_step_at_a_time():
    """36 batches an epoch: progress says 12 steps of 180, a newer loss point says 13, then 36 ends epoch 1."""
    run = TrainingRun(name="r", dataset="mnist", data=None, model_config=ModelConfig(),
                      train_config=TrainConfig(epochs=5), title="r", start={"batches": 36})
    run.job = type("FakeJob", (), {"progress": 0.0})()
    assert run.batch_counter() == (1, 0, 36)
    run.job.progress = 12 / 180
    assert run.batch_counter() == (1, 12, 36)
    run.receive("step", {"epoch": 13 / 36, "seconds": 0.2, "train_loss": 100.0})  # progress thinned out
    assert run.batches_done() == 13 and run.batch_counter() == (1, 13, 36)
    run.job.progress = 36 / 180
    assert run.batch_counter() == (1, 36, 36)  # the last batch of epoch 1, not "epoch 2, batch 0"
    run.job.progress = 37 / 180
    assert run.batch_counter() == (2, 1, 36)
    run.job.progress = 1.0
    assert run.batch_counter() == (5, 36, 36)
    step = {"label": "", "terms": {"loss": 1.0}, "codes": np.zeros((1, 2), np.float32), "xy": np.zeros((1, 2), np.float32),
            "pca": None, "weights": None, "mosaic": np.zeros((8, 8), np.uint8), "seconds": 2.0}
    assert Frame(**step, epoch=1 + 12 / 36).title(36) == "epoch 2, batch 12 of 36 · 2.0 s"  # the grid's caption
    assert Frame(**step, epoch=1 + 12 / 36).title() == "epoch 1.3 · 2.0 s"


# --- the plain helpers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, widths", [("512, 256", (512, 256)), (" 64 32 ", (64, 32)), ("", ()), ("7,", (7,))])
def test_parse_hidden_accepts_lists_of_widths(text, widths):
    assert parse_hidden(text) == widths


@pytest.mark.parametrize("text", ["abc", "-5", "0", "1.5", "3; 4", "2e3"])
def test_parse_hidden_refuses_anything_else(text):
    with pytest.raises(ConfigError, match="positive whole numbers"):
        parse_hidden(text)


def test_build_configs_maps_each_regulariser_and_checks_its_settings():
    model, train = build_configs(TrainForm(regulariser="denoising", noise="masking", noise_level=0.4))
    assert (model.noise, model.noise_level, model.sparsity, model.contractive_weight) == ("masking", 0.4, "none", 0)
    assert train.max_seconds == 120 and train.epochs == 5
    model, _ = build_configs(TrainForm(regulariser="kl", code_activation="sigmoid", weight=3, rho=0.1))
    assert (model.sparsity, model.sparsity_weight, model.sparsity_target, model.noise) == ("kl", 3, 0.1, "none")
    model, _ = build_configs(TrainForm(regulariser="contractive", weight=0.5, dataset="olivetti", arch="conv",
                                       hidden="8, 16"))
    assert model.contractive_weight == 0.5 and model.input_shape == (1, 64, 64)
    assert build_configs(TrainForm(dataset="user", image_side=48))[0].input_shape == (1, 48, 48)
    with pytest.raises(ConfigError, match="sigmoid"):
        build_configs(TrainForm(regulariser="kl"))  # identity code
    with pytest.raises(ConfigError, match="choose AE, or another regulariser"):
        build_configs(TrainForm(regulariser="kl", kind="vae"))  # no code activation to set: said in its words
    with pytest.raises(ConfigError, match="weight λ above 0"):
        build_configs(TrainForm(regulariser="l1", weight=0))
    with pytest.raises(ConfigError, match="tied weights apply to dense layers only"):
        build_configs(TrainForm(arch="conv", hidden="8", tied=True))
    with pytest.raises(ConfigError, match="epochs must be between 1 and 50"):
        build_configs(TrainForm(epochs=51))


def test_fresh_model_is_seeded_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = fresh_model(ModelConfig(hidden=(8,)), seed=4)
    assert torch.equal(torch.rand(1), expected_next)
    b = fresh_model(ModelConfig(hidden=(8,)), seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_a_model_too_big_for_a_shared_server_is_refused_before_it_is_built():
    with pytest.raises(ConfigError, match="at most 10,000,000"):
        fresh_model(ModelConfig(hidden=(4096, 4096)), seed=0)


def test_few_steps_warning_suggests_the_largest_batch_with_enough_steps():
    assert few_steps_warning(4500, 128) is None  # 36 steps
    assert few_steps_warning(72, 128) == ("72 training images at batch size 128 give 1 gradient step per epoch, too "
                                          "few for the model to learn much. Try batch size 16 (5 steps per epoch) "
                                          "or more epochs.")
    assert "Try batch size 64 (10 steps per epoch)" in few_steps_warning(600, 128)
    assert few_steps_warning(640, 64) is None  # exactly 10 steps


def test_epoch_table_shows_penalty_terms_only_when_there_are_several():
    plain = {"epoch": 1, "train_loss": 2.0, "heldout_loss": 1.5, "seconds": 0.44, "terms": {"recon": 1.5, "loss": 1.5}}
    vae = {**plain, "terms": {"recon": 1.0, "kl": 0.5, "loss": 1.5}}
    assert list(epoch_table([plain])[0]) == ["epoch", "train loss", "held-out loss", "seconds"]
    assert epoch_table([vae])[0]["held-out KL"] == 0.5 and epoch_table([vae])[0]["seconds"] == 0.4


def test_cli_command_repeats_the_run_with_the_training_script():
    from models.training.cli import parse_args

    model, train = build_configs(TrainForm(kind="vae", beta=4, regulariser="denoising", noise_level=0.5,
                                           hidden="32, 16", epochs=7, lr=3e-3))
    command = cli_command(model, train, "mnist", "pretrained/x")
    args = parse_args(command.split()[3:])
    assert (args.kind, args.hidden, args.beta, args.noise, args.noise_level, args.epochs, args.lr) == \
        ("vae", [32, 16], 4.0, "gaussian", 0.5, 7, 3e-3)
    assert cli_command(model, train, "user", "pretrained/x") is None


@pytest.mark.parametrize("form", [TrainForm(), TrainForm(dataset="olivetti", arch="conv", hidden="8, 16", latent=16),
                                  TrainForm(kind="vae", beta=0.3333, hidden="", seed=42, batch_size=32, lr=3e-4),
                                  TrainForm(hidden="", code_activation="sigmoid", tied=True, regulariser="kl",
                                            weight=0.123456789, rho=0.02),
                                  TrainForm(regulariser="contractive", weight=2, loss="mse", epochs=50)])
def test_cli_command_parses_back_to_the_run_s_configs(form):
    """The page's command gives the form's configs back, all but the server's time cap."""
    from models.config_cli import configs_from_args
    from models.training.cli import parse_command

    model, train = build_configs(form)
    args = parse_command(cli_command(model, train, form.dataset, "pretrained/x"))
    assert train.max_seconds is not None
    assert configs_from_args(args, model.input_shape) == (model, replace(train, max_seconds=None))
    assert (args.dataset, args.out) == (form.dataset, "pretrained/x")


def checkpoint(config: ModelConfig, record: dict) -> tuple[bytes, bytes]:
    return to_bytes(fresh_model(config, 0), record)


def test_read_checkpoint_upload_picks_the_dataset_to_show_it_with():
    weights, document = checkpoint(ModelConfig(hidden=(8,)), {"dataset": "mnist"})
    upload = read_checkpoint_upload([("a.json", document), ("a.safetensors", weights)])
    assert upload.dataset == "mnist" and upload.stem == "a" and upload.record == {"dataset": "mnist"}
    weights, document = checkpoint(ModelConfig(hidden=(8,)), {"dataset": "fashion-mnist"})
    upload = read_checkpoint_upload([("b.safetensors", weights), ("b.json", document)])
    assert upload.dataset == "mnist" and "'fashion-mnist', which this app does not have" in upload.note
    weights, document = checkpoint(ModelConfig(arch="conv", hidden=(4,), input_shape=(1, 64, 64)), {"dataset": "lfw"})
    assert read_checkpoint_upload([("c.safetensors", weights), ("c.json", document)]).dataset == "olivetti"


def test_read_checkpoint_upload_refuses_what_it_cannot_show_or_read():
    weights, document = checkpoint(ModelConfig(hidden=(8,), input_shape=(1, 32, 32)), {"dataset": "user"})
    with pytest.raises(CheckpointError, match="nothing to show it with"):
        read_checkpoint_upload([("d.safetensors", weights), ("d.json", document)])
    weights, document = checkpoint(ModelConfig(hidden=(8,)), {})
    with pytest.raises(CheckpointError, match="two files"):
        read_checkpoint_upload([("d.safetensors", weights)])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_checkpoint_upload([("d.safetensors", weights), ("d.json", b"{oops")])
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        read_checkpoint_upload([("d.safetensors", weights[: len(weights) // 2]), ("d.json", document)])
    config = json.loads(document)
    config["config"]["latent"] = 3  # the weights no longer fit the config
    with pytest.raises(CheckpointError, match="shape"):
        read_checkpoint_upload([("d.safetensors", weights), ("d.json", json.dumps(config).encode())])


def test_contractive_by_autograd_is_capped_by_latent_times_batch_but_the_closed_form_is_not():
    with pytest.raises(ConfigError, match=r"latent 256 × batch 1024 is over 4,096"):
        build_configs(TrainForm(regulariser="contractive", weight=1.0, latent=256, batch_size=1024))
    model, train = build_configs(TrainForm(regulariser="contractive", weight=1.0, latent=32, batch_size=128))
    assert model.latent * train.batch_size == 4096  # at the cap: allowed
    model, _ = build_configs(TrainForm(regulariser="contractive", weight=1.0, hidden="", latent=256,
                                       code_activation="sigmoid", batch_size=1024))
    assert model.single_layer and model.contractive_weight == 1.0  # closed form: cheap at any size


EVERY_TIME = {"latent", "hidden", "activation", "loss", "epochs", "lr", "batch_size", "seed"}


@pytest.mark.parametrize("dataset, kind, arch, regulariser, extra", [
    ("mnist", "ae", "dense", "none", {"code_activation", "tied"}),
    ("user", "ae", "dense", "none", {"upload", "image_side", "code_activation", "tied"}),
    ("olivetti", "vae", "dense", "none", {"beta", "tied"}),
    ("mnist", "ae", "conv", "none", {"code_activation"}),
    ("mnist", "ae", "dense", "denoising", {"code_activation", "tied", "noise", "noise_level"}),
    ("mnist", "ae", "dense", "l1", {"code_activation", "tied", "weight"}),
    ("mnist", "ae", "dense", "kl", {"code_activation", "tied", "weight", "rho"}),
    ("mnist", "vae", "conv", "contractive", {"beta", "weight"}),
])
def test_the_form_shows_only_the_fields_its_choices_use(dataset, kind, arch, regulariser, extra):
    assert fields_that_apply(dataset, kind, arch, regulariser) == EVERY_TIME | extra
