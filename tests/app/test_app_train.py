"""The Train page: the form puts a fresh model in the server's training queue and it joins the session's models
(also when the student is on another page when it ends), bad settings are refused with a message, a waiting run
shows its place and can be cancelled, a stopped, capped, failed or NaN run keeps its last good epoch, frames replay,
cached pretrained models stay untouched, and checkpoints go both ways.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from models.config import ModelConfig, TrainConfig
from models.jobs import RUNNING, JobQueue
from models.jobs.embedded import EmbeddedQueue
from models.training.job import Frames, TrainSpec, train_job, training_work
from tests.app.apptest import app_test
from tests.unit.test_memory import small_pngs_zip_bytes
from tests.unit.test_train_form import checkpoint
from ui.session_models import INBOX_KEY, TRAINED_KEY, ModelChoice
from ui.train.form import TrainForm, build_configs, fresh_model
from ui.train.live import seconds_text
from ui.train.runs import MAX_SESSION_MODELS, Inbox, TrainingRun

RUN_KEY, LAST_RUN_KEY = "train_run", "train_last_run"  # ui/train/live.py's keys
UPLOADS_KEY = "train_uploads"  # pages/train.py's: the session's decoded upload


@pytest.fixture
def thread_pool(pool):
    """The page's queue as one worker thread in this process (tests/app/conftest.py's `pool`), named where a test
    reaches into it."""
    return pool


def train_page() -> AppTest:
    at = app_test()
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception
    return at


WIDGETS = {"loss": "radio", "lr": "select_slider", "batch": "select_slider"}  # the form's widgets tests set


def submit(at: AppTest, epochs: int = 1, hidden: str = "16", wait: bool = True, **widgets) -> AppTest:
    """Fill in the form (tiny by default: 1 epoch, 16 hidden units), press Train and (unless told) let the run
    end and the page show it."""
    at.slider(key="train_epochs").set_value(epochs)
    at.text_input(key="train_hidden").set_value(hidden)
    for key, value in widgets.items():
        getattr(at, WIDGETS[key])(key=f"train_{key}").set_value(value)
    label_trained_picks(at)
    at.button(key="train_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return finish_training(at) if wait else at


def finish_training(at: AppTest, timeout: float = 120) -> AppTest:
    """A run trains in the server's pool; the browser's live panel reruns until it ends. AppTest does not tick a
    fragment's run_every: wait for the job, then run the page, which collects the run."""
    run = at.session_state[RUN_KEY] if RUN_KEY in at.session_state else None
    if run is not None:
        assert run.job.wait(timeout), "the training job did not end"
        label_trained_picks(at)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def label_trained_picks(at: AppTest) -> None:
    """AppTest sends a selectbox's choice as format_func(value), called outside the session; for a session's
    model title_of() then cannot see trained_models() and the next run fails. Send the label the browser would."""
    for picker in at.selectbox:
        if picker.value in trained(at):
            choice = trained(at)[picker.value]
            picker.set_value(f"{choice.title} ({'trained here' if choice.trained_here else 'uploaded'})")


def as_read(markdown: str) -> str:
    """Text as the browser shows it: user text in messages is Markdown-escaped (ui.messages.escape_md)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def texts(elements) -> str:
    return " | ".join(as_read(e.value) for e in elements)


def trained(at: AppTest) -> dict:
    return at.session_state[TRAINED_KEY] if TRAINED_KEY in at.session_state else {}


def selected(at: AppTest) -> str:
    """The model the sidebar shows (it writes it to session state and the URL)."""
    return at.session_state["sidebar_model"]


def image_zip(n: int) -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(n):
            png = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(png, format="PNG")
            archive.writestr(f"shapes/{'round' if i % 2 else 'square'}/{i}.png", png.getvalue())
    return buffer.getvalue()


# --- the page ------------------------------------------------------------------------------------------
def test_page_runs_with_its_form_the_caps_and_the_measured_default_time(thread_pool):
    at = train_page()
    assert at.title[0].value.endswith("Train an autoencoder")
    intro = next(m.value for m in at.markdown if "train at a time" in m.value)  # in "How training works here"
    assert "50 epochs" in intro and "120 seconds" in intro and "**1 train at a time**" in intro
    assert at.slider(key="train_epochs").max == 50
    assert at.sidebar.selectbox(key="sidebar_model").value  # the sidebar is drawn around the page
    # The promise for the defaults is the pool's estimate, from the pace of the runs this server finished.
    thread_pool.seconds_per_work = 2e-10
    at.run()
    model, train = build_configs(TrainForm())
    expected = training_work(model, train, 4500) * 2e-10
    assert f"should take about **{seconds_text(expected)}** once they start" in at.info[0].value


@pytest.mark.parametrize("pool", ["thread", pytest.param("process", marks=pytest.mark.slow)], indirect=True)
def test_training_adds_a_model_that_the_sidebar_offers_and_selects(pool):
    at = submit(train_page())
    models = trained(at)
    assert len(models) == 1
    name, choice = next(iter(models.items()))
    assert name.startswith("trained-") and choice.trained_here and choice.dataset == "mnist"
    assert choice.record["epochs"] == 1 and np.isfinite(choice.record["final_heldout_loss"])
    assert choice.record["command"].startswith("python -m models.train --dataset mnist")
    assert not any(p.requires_grad for p in choice.model.parameters())
    assert selected(at) == name and at.query_params["model"] == name
    assert choice.title == "Dense AE, latent 2, hidden 16, 1 epoch"
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
    assert not trained(at) and RUN_KEY not in at.session_state


def test_a_diverging_run_shows_the_nan_guard_and_keeps_no_model():
    # Six ReLU layers, squared error and a learning rate of 10 overflow to inf in the second batch.
    at = submit(train_page(), hidden="16, 16, 16, 16, 16, 16", loss="mse", lr=10.0)
    warning = texts(at.warning)
    assert "the loss became inf at epoch 1" in warning and "No epoch finished, so no model was kept" in warning
    assert not trained(at)


def block(pool: JobQueue):
    """Occupy the pool's only worker until the returned job is cancelled."""
    from tests.job_tasks import until_stopped

    blocker = pool.submit(until_stopped, work=1e12)
    deadline = time.monotonic() + 30
    while blocker.state != RUNNING and time.monotonic() < deadline:
        time.sleep(0.02)
    return blocker


def test_a_second_run_waits_in_the_queue_with_its_place_and_can_be_cancelled(thread_pool):
    blocker = block(thread_pool)
    at = submit(train_page(), wait=False)
    info = texts(at.info)
    assert "you are number 1 in the queue" in info and "this server trains 1 run at a time (1 training now)" in info
    assert "You can leave this page: the run goes on" in info
    at.button(key="train_cancel").click().run()
    run = at.session_state[RUN_KEY] if RUN_KEY in at.session_state else at.session_state[LAST_RUN_KEY]
    assert run.job.wait(10) and run.job.state == "cancelled"
    finish_training(at)
    assert "cancelled before it started" in texts(at.warning) and not trained(at)
    thread_pool.cancel(blocker)
    assert blocker.wait(10)


def test_a_run_that_ends_while_its_student_is_on_another_page_joins_their_models(thread_pool):
    blocker = block(thread_pool)
    at = submit(train_page(), wait=False)
    run = at.session_state[RUN_KEY]
    at.switch_page("pages/about.py").run()  # leaves the Train page while the run waits
    thread_pool.cancel(blocker)
    assert run.job.wait(60) and run.job.state == "done"
    at.run()  # any page's next run
    assert list(trained(at)) == [run.name] and not at.exception
    at.switch_page("pages/train.py").run()  # back on Train: how it ended, and it is selected
    assert "Trained 1 epoch in" in texts(at.success) and selected(at) == run.name


def stopped_after_epoch_1(mnist, pool: JobQueue) -> TrainingRun:
    """A run whose student pressed Stop as epoch 1 ended: the job stops inside epoch 2."""
    run = TrainingRun(name="trained-abc123", dataset="mnist", data=mnist, model_config=ModelConfig(hidden=(8,)),
                      train_config=TrainConfig(epochs=3, batch_size=512, max_seconds=60), title="Dense AE",
                      inbox=Inbox())

    def receive(kind, payload):
        run.receive(kind, payload)
        if kind == "epoch":
            pool.cancel(run.job)

    run.job = pool.submit(train_job, TrainSpec(run.model_config, run.train_config, mnist).to_wire(), on_message=receive,
                          on_end=run.end)
    assert run.job.wait(60)
    return run


def test_a_stopped_run_is_kept_at_its_best_finished_epoch(mnist, thread_pool):
    run = stopped_after_epoch_1(mnist, thread_pool)
    at = app_test()
    at.session_state[RUN_KEY] = run
    at.session_state[INBOX_KEY] = run.inbox
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert "stopped by request during epoch 2; kept the weights of epoch 1" in texts(at.warning)
    choice = trained(at)["trained-abc123"]
    assert choice.record["epochs"] == 1 and "stopped by request" in choice.record["stopped"]
    assert choice.title == "Dense AE, 1 epoch" and selected(at) == "trained-abc123"


def test_a_run_that_fails_keeps_its_last_good_epoch_and_says_only_what_kind_of_error(mnist, thread_pool,
                                                                                     monkeypatch):
    original = Frames.on_epoch

    def fails_after_epoch_2(self, stats):
        original(self, stats)
        if stats["epoch"] == 2:
            raise RuntimeError("/srv/secret/path exploded")

    monkeypatch.setattr(Frames, "on_epoch", fails_after_epoch_2)
    run = TrainingRun(name="trained-f41l3d", dataset="mnist", data=mnist, model_config=ModelConfig(hidden=(8,)),
                      train_config=TrainConfig(epochs=3, batch_size=512), title="Dense AE", inbox=Inbox())
    sent = []
    run.job = thread_pool.submit(train_job, TrainSpec(run.model_config, run.train_config, mnist).to_wire(),
                                 on_message=lambda k, p: (sent.append((k, p)), run.receive(k, p)), on_end=run.end)
    assert run.job.wait(60) and run.job.state == "failed"
    assert run.outcome.stopped == ("the run stopped with an unexpected error (RuntimeError) during epoch 3 of 3; "
                                   "kept the weights of epoch 2")
    last_good = [p["best_state"] for k, p in sent if k == "epoch" and p["best_state"] is not None][-1]
    for key, value in run.model.state_dict().items():
        assert np.array_equal(value.numpy(), last_good[key]), key
    models = {}
    run.inbox.deliver(models)
    assert list(models) == ["trained-f41l3d"] and "/srv" not in run.outcome.stopped


def test_a_time_capped_run_says_so_and_keeps_nothing(mnist, monkeypatch):
    pool = EmbeddedQueue(1, "thread", time_cap=1e-9)
    try:
        run = TrainingRun(name="t", dataset="mnist", data=mnist, model_config=ModelConfig(hidden=(8,)),
                          train_config=TrainConfig(epochs=2, batch_size=64), title="t", inbox=Inbox())
        run.job = pool.submit(train_job, TrainSpec(run.model_config, run.train_config, mnist).to_wire(),
                              on_message=run.receive, on_end=run.end)
        assert run.job.wait(60)
    finally:
        pool.shutdown()
    assert "reached the 1e-09-second time cap during epoch 1" in run.outcome.stopped
    assert run.model is None and run.trained_model() is None


def test_training_on_an_uploaded_zip_of_images_warns_of_too_few_steps():
    at = train_page()
    at.radio(key="train_dataset").set_value("user").run()  # the uploader shows for "your images" only
    at.file_uploader(key="train_upload").set_value(("shapes.zip", image_zip(12), "application/zip"))
    at.select_slider(key="train_side").set_value(32)
    submit(at, wait=False)
    assert "give 1 gradient step per epoch" in texts(at.warning) and "Try batch size 16" in texts(at.warning)
    finish_training(at)
    (choice,) = trained(at).values()
    assert choice.dataset == "user" and choice.data.image_shape == (1, 32, 32)
    assert choice.model.config.input_shape == (1, 32, 32) and choice.record["command"] is None
    assert selected(at) == choice.name and at.session_state["sidebar_dataset"] == "user"
    assert "give 1 gradient step per epoch" in " ".join(c.value for c in at.caption)  # said after the run too


def test_one_upload_trained_twice_is_decoded_once_and_one_too_big_is_refused_with_the_numbers():
    at = train_page()
    at.radio(key="train_dataset").set_value("user").run()  # the uploader shows for "your images" only
    at.file_uploader(key="train_upload").set_value(("shapes.zip", image_zip(40), "application/zip"))
    submit(submit(at))  # the same upload, trained twice
    first, second = trained(at).values()
    (upload,) = at.session_state[UPLOADS_KEY]._sets.values()
    assert first.data is second.data is upload.heldout  # one decoded set, one held-out copy for both models
    assert first.data.train.shape == (0, 1, 28, 28) and first.record["train_size"] == 36 == len(upload.train)
    assert upload.train.dtype == np.uint8
    at.file_uploader(key="train_upload").set_value(("dots.zip", small_pngs_zip_bytes(), "application/zip"))
    at.select_slider(key="train_side").set_value(64)
    submit(at)
    assert ("dots.zip holds 20,000 images: at 64×64 pixels they take 81.9 MB, more than the 64 MB one upload may use "
            "on this shared server. Send at most 15,625 images at this size") in texts(at.error)
    assert len(trained(at)) == 2


def test_a_missing_or_bad_zip_is_refused():
    at = train_page()
    at.radio(key="train_dataset").set_value("user").run()  # the uploader shows for "your images" only
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
    assert selected(at) == name
    assert "Added mine:" in texts(at.success)


def test_a_session_keeps_its_newest_models_and_says_which_it_dropped(mnist):
    model = fresh_model(ModelConfig(hidden=(8,)), 0)
    at = train_page()
    models = {f"m{i}": ModelChoice(f"m{i}", f"model {i}", "mnist", model, {}, mnist, trained_here=True)
              for i in range(MAX_SESSION_MODELS)}
    at.session_state[TRAINED_KEY] = models
    inbox = Inbox()
    inbox.put(ModelChoice("new", "model 3", "mnist", model, {}, mnist, trained_here=True))
    at.session_state[INBOX_KEY] = inbox
    at.run()  # the sidebar delivers it
    kept = trained(at)
    assert list(kept) == [f"m{i}" for i in range(1, MAX_SESSION_MODELS)] + ["new"]
    assert kept["new"].title == "model 3 · #new"  # a title the session already has gets the model's id
    assert "**model 0** was the oldest and has been removed" in " ".join(w.value for w in at.warning)
    at.run()
    assert "was the oldest" not in " ".join(w.value for w in at.warning)  # said once


def state_hashes(models: dict) -> dict[str, str]:
    return {name: hashlib.sha256(b"".join(t.detach().numpy().tobytes() for t in choice.model.state_dict().values()))
            .hexdigest() for name, choice in models.items()}


def test_training_leaves_the_cached_pretrained_models_bit_identical(thread_pool):
    """In a thread pool the run trains in the very process that holds the cached models: hash every shipped
    model's weights, as the pages' cache holds them, before and after a run trained through the page."""
    from ui.session_models import catalog, get_choice

    at = train_page()
    before = state_hashes({name: get_choice(name) for name in catalog()})
    submit(at, epochs=2, hidden="256")
    assert len(trained(at)) == 1
    after = state_hashes({name: get_choice(name) for name in catalog()})
    assert after == before and len(before) >= 5


def test_the_last_run_replays_its_frames_on_the_plane(thread_pool):
    at = submit(train_page(), epochs=3)
    run = at.session_state[LAST_RUN_KEY]
    assert len(run.frames) >= 2 and run.frames[0].label == "untrained" and run.frames[-1].label.startswith("kept")
    scrubber = at.select_slider(key="train_replay_frame")
    assert scrubber.value == len(run.frames) - 1
    last_picture = at.get("html")[0].proto.body
    label_trained_picks(at)
    scrubber.set_value(0).run()
    assert at.get("html")[0].proto.body != last_picture  # the untrained model's decoded grid
    assert "untrained" in at.get("html")[0].proto.body
