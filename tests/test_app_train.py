"""The Train page: the form trains a fresh model that joins the session's models, bad settings and a busy server
are refused with a message, an interrupted or NaN run keeps its last finished epoch, and checkpoints go both ways.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from models.checkpoint import to_bytes
from models.config import ModelConfig, TrainConfig
from models.data import load_dataset
from models.errors import CheckpointError, ConfigError
from pages.common import TRAINED_KEY
from pages.train_support import (BUSY_MESSAGE, TRAIN_LOCK, TrainForm, TrainingRun, build_configs, cli_command,
                                 epoch_table, fresh_model, parse_hidden, read_checkpoint_upload, run_training)

ROOT = Path(__file__).resolve().parents[1]
RUN_KEY = "train_run"  # pages/train.py's key for a pending run


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", source="bundled")


def train_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception
    return at


WIDGETS = {"loss": "radio", "lr": "select_slider"}  # the form's widgets that tests set, by kind


def submit(at: AppTest, epochs: int = 1, hidden: str = "16", **widgets) -> AppTest:
    """Fill in the form (tiny by default: 1 epoch, 16 hidden units) and press Train."""
    at.slider(key="train_epochs").set_value(epochs)
    at.text_input(key="train_hidden").set_value(hidden)
    for key, value in widgets.items():
        getattr(at, WIDGETS[key])(key=f"train_{key}").set_value(value)
    label_trained_picks(at)
    at.button(key="train_submit").click().run()
    assert not at.exception
    return at


def label_trained_picks(at: AppTest) -> None:
    """AppTest sends a selectbox's choice as format_func(value), called outside the session; for a session's
    model title_of() then cannot see trained_models() and the next run fails. Send the label the browser would."""
    for picker in at.selectbox:
        if picker.value in trained(at):
            choice = trained(at)[picker.value]
            picker.set_value(f"{choice.title} ({'trained here' if choice.trained_here else 'uploaded'})")


def as_read(markdown: str) -> str:
    """Text as the browser shows it: user text in messages is Markdown-escaped (pages.common.escape_md)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def texts(elements) -> str:
    return " | ".join(as_read(e.value) for e in elements)


def trained(at: AppTest) -> dict:
    return at.session_state[TRAINED_KEY] if TRAINED_KEY in at.session_state else {}


# --- the page ------------------------------------------------------------------------------------------
def test_page_runs_with_its_form_and_the_caps_stated():
    at = train_page()
    assert at.title[0].value.endswith("Train an autoencoder")
    assert "50 epochs" in at.markdown[0].value and "120 seconds" in at.markdown[0].value
    assert at.slider(key="train_epochs").max == 50
    assert at.sidebar.selectbox(key="sidebar_model").value  # the sidebar is drawn around the page


def test_training_adds_a_model_that_the_sidebar_offers_and_selects():
    at = submit(train_page())
    models = trained(at)
    assert len(models) == 1
    name, choice = next(iter(models.items()))
    assert name.startswith("trained-") and choice.trained_here and choice.dataset == "mnist"
    assert choice.record["epochs"] == 1 and np.isfinite(choice.record["final_heldout_loss"])
    assert choice.record["command"].startswith("python -m models.train --dataset mnist")
    assert not any(p.requires_grad for p in choice.model.parameters())
    picker = at.sidebar.selectbox(key="sidebar_model")
    assert picker.value == name and picker.options[-1] == "Dense AE, latent 2, hidden 16, 1 epoch (trained here)"
    assert "Trained 1 epoch in" in texts(at.success)
    downloads = at.get("download_button")
    assert {d.proto.label for d in downloads} == {"Weights (.safetensors)", "Config and record (.json)"}
    submit(at)  # the same settings again: a second model, told apart by its id
    second = next(n for n in trained(at) if n != name)
    assert trained(at)[second].title == f"Dense AE, latent 2, hidden 16, 1 epoch · #{second[-6:]}"


@pytest.mark.parametrize("hidden, message", [("abc", '"abc" is not one'), ("-5", '"-5" is not one'),
                                              ("5000", "hidden sizes must be between 1 and 4096"),
                                              ("4096, 4096", "at most 10,000,000 on a shared server")])
def test_bad_hidden_sizes_show_an_error_and_train_nothing(hidden, message):
    at = submit(train_page(), hidden=hidden)
    assert message in texts(at.error)
    assert not trained(at)


def test_a_diverging_run_shows_the_nan_guard_and_keeps_no_model():
    # Six ReLU layers, squared error and a learning rate of 10 overflow to inf in the second batch.
    at = submit(train_page(), hidden="16, 16, 16, 16, 16, 16", loss="mse", lr=10.0)
    warning = texts(at.warning)
    assert "the loss became inf at epoch 1" in warning and "No epoch finished, so no model was kept" in warning
    assert not trained(at)


def test_a_busy_server_refuses_to_train():
    at = train_page()
    assert TRAIN_LOCK.acquire(blocking=False)
    try:
        submit(at)
    finally:
        TRAIN_LOCK.release()
    assert BUSY_MESSAGE in texts(at.warning)
    assert not trained(at)


def test_an_interrupted_run_is_kept_at_its_last_finished_epoch(mnist):
    """What a click on Stop leaves behind: a run whose thread was stopped inside epoch 2."""
    run = TrainingRun(name="trained-abc123", dataset="mnist", data=mnist, model_config=ModelConfig(hidden=(8,)),
                      train_config=TrainConfig(epochs=3, batch_size=512, max_seconds=60))
    model = fresh_model(run.model_config, 0)

    def interrupt_after_first(stats):
        if stats["epoch"] == 1:
            raise KeyboardInterrupt  # stands in for Streamlit's StopException at the next UI call

    with pytest.raises(KeyboardInterrupt):
        run_training(run, model, interrupt_after_first, tick=lambda *_: None)
    run.exited.set()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[RUN_KEY] = run
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert "stopped after epoch 1 of 3; kept the weights of epoch 1" in texts(at.warning)
    choice = trained(at)["trained-abc123"]
    assert choice.record["epochs"] == 1 and "stopped after epoch 1" in choice.record["stopped"]
    assert at.sidebar.selectbox(key="sidebar_model").value == "trained-abc123"


def test_training_on_an_uploaded_zip_of_images():
    at = train_page()
    at.radio(key="train_dataset").set_value("user")
    at.file_uploader(key="train_upload").set_value(("shapes.zip", image_zip(12), "application/zip"))
    at.select_slider(key="train_side").set_value(32)
    submit(at)
    (choice,) = trained(at).values()
    assert choice.dataset == "user" and choice.data.image_shape == (1, 32, 32)
    assert choice.model.config.input_shape == (1, 32, 32) and choice.record["command"] is None
    assert "Your images (upload)" in at.sidebar.selectbox(key="sidebar_dataset").options


def test_a_missing_or_bad_zip_is_refused():
    at = train_page()
    at.radio(key="train_dataset").set_value("user")
    submit(at)
    assert "choose a .zip of your images" in texts(at.error)
    at.file_uploader(key="train_upload").set_value(("notes.zip", b"not a zip", "application/zip"))
    submit(at)
    assert "not a zip file" in texts(at.error)
    assert not trained(at)


def test_uploaded_checkpoint_joins_the_session_and_a_corrupt_one_is_refused():
    weights, document = checkpoint(ModelConfig(hidden=(8,)), {"dataset": "mnist", "epochs": 3})
    at = train_page()
    uploader = at.file_uploader(key="train_checkpoint_files")
    uploader.set_value([("mine.safetensors", weights[:100], "application/octet-stream"),
                        ("mine.json", document, "application/json")])
    at.button(key="train_checkpoint_submit").click().run()
    assert not at.exception and "not a readable safetensors file" in texts(at.error)
    assert not trained(at)
    at.file_uploader(key="train_checkpoint_files").set_value(
        [("mine.safetensors", weights, "application/octet-stream"), ("mine.json", document, "application/json")])
    at.button(key="train_checkpoint_submit").click().run()
    assert not at.exception
    (name, choice), = trained(at).items()
    assert name.startswith("uploaded-") and not choice.trained_here and choice.dataset == "mnist"
    assert at.sidebar.selectbox(key="sidebar_model").value == name
    assert "Added mine:" in texts(at.success)


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


def test_time_cap_stops_inside_the_first_epoch_and_keeps_nothing(mnist):
    run = TrainingRun(name="t", dataset="mnist", data=mnist, model_config=ModelConfig(hidden=(8,)),
                      train_config=TrainConfig(epochs=2, batch_size=64, max_seconds=1e-9))
    result = run_training(run, fresh_model(run.model_config, 0), on_epoch=lambda s: None, tick=lambda *_: None)
    assert "reached the 1e-09-second time cap during epoch 1" in result.stopped
    assert run.trained_model() is None and run.outcome() is result


def test_a_nan_in_a_later_epoch_keeps_the_last_good_epoch(mnist, monkeypatch):
    run = TrainingRun(name="t", dataset="mnist", data=mnist, model_config=ModelConfig(hidden=(8,)),
                      train_config=TrainConfig(epochs=3, batch_size=1500, max_seconds=60))
    model = fresh_model(run.model_config, 0)
    real_loss, calls = model.loss, []

    def loss_that_breaks_in_epoch_2(x, corrupt_input=None, generator=None):
        terms = real_loss(x, corrupt_input, generator)
        if model.training:
            calls.append(1)
            if len(calls) == 4:  # 3 batches an epoch: the first batch of epoch 2
                terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(model, "loss", loss_that_breaks_in_epoch_2)
    kept = {}
    result = run_training(run, model, on_epoch=lambda s: kept.update(model.state_dict()), tick=lambda *_: None)
    assert "the loss became nan at epoch 2" in result.stopped and len(result.history) == 1
    for key, tensor in run.trained_model().state_dict().items():
        assert torch.equal(tensor, kept[key])


def test_epoch_table_shows_penalty_terms_only_when_there_are_several():
    plain = {"epoch": 1, "train_loss": 2.0, "heldout_loss": 1.5, "seconds": 0.44, "terms": {"recon": 1.5, "loss": 1.5}}
    vae = {**plain, "terms": {"recon": 1.0, "kl": 0.5, "loss": 1.5}}
    assert list(epoch_table([plain])[0]) == ["epoch", "train loss", "held-out loss", "seconds"]
    assert epoch_table([vae])[0]["held-out KL"] == 0.5 and epoch_table([vae])[0]["seconds"] == 0.4


def test_cli_command_repeats_the_run_with_the_training_script():
    from models.train import parse_args

    model, train = build_configs(TrainForm(kind="vae", beta=4, regulariser="denoising", noise_level=0.5,
                                           hidden="32, 16", epochs=7, lr=3e-3))
    command = cli_command(model, train, "mnist", "pretrained/x")
    args = parse_args(command.split()[3:])
    assert (args.kind, args.hidden, args.beta, args.noise, args.noise_level, args.epochs, args.lr) == \
        ("vae", [32, 16], 4.0, "gaussian", 0.5, 7, 3e-3)
    assert cli_command(model, train, "user", "pretrained/x") is None


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


def image_zip(n: int) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(n):
            png = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(png, format="PNG")
            archive.writestr(f"shapes/{'round' if i % 2 else 'square'}/{i}.png", png.getvalue())
    return buffer.getvalue()



def test_contractive_by_autograd_is_capped_by_latent_times_batch_but_the_closed_form_is_not():
    with pytest.raises(ConfigError, match=r"latent 256 × batch 1024 is over 4,096"):
        build_configs(TrainForm(regulariser="contractive", weight=1.0, latent=256, batch_size=1024))
    model, train = build_configs(TrainForm(regulariser="contractive", weight=1.0, latent=32, batch_size=128))
    assert model.latent * train.batch_size == 4096  # at the cap: allowed
    model, _ = build_configs(TrainForm(regulariser="contractive", weight=1.0, hidden="", latent=256,
                                       code_activation="sigmoid", batch_size=1024))
    assert model.single_layer and model.contractive_weight == 1.0  # closed form: cheap at any size
