"""The server's job pool (models/jobs/): at most N jobs at a time, in the order they came, cancel, time cap,
estimates, failures that end one job with a message; and training runs through it (models/training/job.py), whose
frames are the model as it was then, which keep their last good weights when they fail or go NaN."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import torch

from models.config import ModelConfig, TrainConfig
from models.data import load_dataset
from models.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, JobPool, pool_settings
from models.training.job import TrainSpec, fresh_model, train_job, training_work
from models.training.trainer import train

KINDS = ["thread", "process"]


# --- job functions (module level: a process pool pickles them by name) ---------------------------------------
def sleeper(ctx, seconds: float, tag: str):
    ctx.emit("began", (tag, time.monotonic()))
    time.sleep(seconds)
    ctx.emit("ended", (tag, time.monotonic()))
    return tag


def until_stopped(ctx, tag: str):
    ctx.emit("began", (tag, time.monotonic()))
    steps = 0
    while not ctx.should_stop():
        time.sleep(0.01)
        steps += 1
        ctx.progress(min(steps / 1000, 1.0))
    return {"tag": tag, "capped": ctx.capped, "cancelled": ctx.cancelled}


def fails_after_a_message(ctx):
    ctx.emit("last good", 41)
    raise ValueError("boom at /srv/somewhere")


def chatty(ctx):
    while not ctx.should_stop():
        ctx.emit("frame", bytes(1_000_000))  # more than a pipe holds
    return "stopped"


def touch(ctx, path: str):
    with open(path, "w") as out:  # a side effect that shows it ran, even once nobody reads its messages
        out.write("ran")


def where_am_i(ctx):
    return os.getpid()


def dies(ctx):
    os._exit(3)


class Recorder:
    def __init__(self):
        self.messages: list[tuple] = []

    def __call__(self, kind, payload):
        self.messages.append((kind, payload))

    def of(self, kind):
        return [payload for k, payload in self.messages if k == kind]


@pytest.fixture(params=KINDS)
def pool_kind(request):
    return request.param


def make_pool(kind: str, workers: int, **options) -> JobPool:
    return JobPool(workers, kind, **options)


def test_pool_settings_default_to_one_process_per_core(monkeypatch):
    monkeypatch.delenv("AEX_TRAIN_WORKERS", raising=False)
    monkeypatch.delenv("AEX_TRAIN_POOL", raising=False)
    assert pool_settings() == (os.cpu_count(), "process")
    monkeypatch.setenv("AEX_TRAIN_WORKERS", "1")
    monkeypatch.setenv("AEX_TRAIN_POOL", "thread")
    assert pool_settings() == (1, "thread")
    monkeypatch.setenv("AEX_TRAIN_POOL", "cluster")
    with pytest.raises(ValueError, match="process or thread"):
        pool_settings()


def test_at_most_n_jobs_run_at_once(pool_kind):
    pool = make_pool(pool_kind, 2)
    try:
        record = Recorder()
        jobs = [pool.submit(sleeper, 0.4, str(i), on_message=record) for i in range(5)]
        assert all(job.wait(60) for job in jobs)
        assert [job.state for job in jobs] == [DONE] * 5 and [job.result for job in jobs] == list("01234")
        began = dict(record.of("began"))
        ended = dict(record.of("ended"))
        # The most jobs running at any moment: count over every start.
        overlap = max(sum(began[o] <= began[t] < ended[o] for o in began) for t in began)
        assert overlap == 2
    finally:
        pool.shutdown()


def test_waiting_jobs_keep_their_order_show_positions_and_can_be_cancelled(pool_kind):
    pool = make_pool(pool_kind, 1, seconds_per_work=1.0)
    try:
        record = Recorder()
        blocker = pool.submit(until_stopped, "blocker", on_message=record, work=5.0)
        deadline = time.monotonic() + 60
        while blocker.state != RUNNING and time.monotonic() < deadline:
            time.sleep(0.02)
        waiting = [pool.submit(sleeper, 0.05, tag, on_message=record, work=2.0) for tag in "abcd"]
        assert [pool.position(job) for job in waiting] == [1, 2, 3, 4]
        waits = [pool.wait_estimate(job) for job in waiting]
        # The blocker reports no progress: it has its expected 5 s minus what it ran; each job ahead adds its 2 s.
        assert waits[0] == pytest.approx(5.0 - blocker.runtime, abs=0.3)
        assert np.diff(waits) == pytest.approx([2.0, 2.0, 2.0], abs=1e-2)  # time runs between the calls
        assert pool.counts() == (1, 4)
        pool.cancel(waiting[1])  # "b" leaves the queue: the ones behind it move up
        assert [pool.position(job) for job in (waiting[0], waiting[2], waiting[3])] == [1, 2, 3]
        assert pool.position(waiting[1]) is None
        pool.cancel(blocker)
        assert all(job.wait(60) for job in waiting)
        assert blocker.state == DONE and blocker.result["cancelled"] and not blocker.result["capped"]
        assert waiting[1].state == CANCELLED and waiting[1].started is None
        assert [tag for tag, _ in record.of("began")] == ["blocker", "a", "c", "d"]  # in order; b never ran
        assert pool.position(waiting[0]) is None and pool.wait_estimate(waiting[0]) is None
    finally:
        pool.shutdown()


def test_a_job_that_raises_ends_with_a_message_and_the_pool_goes_on(pool_kind):
    pool = make_pool(pool_kind, 1)
    try:
        record = Recorder()
        job = pool.submit(fails_after_a_message, on_message=record)
        assert job.wait(60)
        assert job.state == FAILED and job.error == "ValueError: boom at /srv/somewhere"
        assert record.of("last good") == [41]  # its messages before the failure all arrived
        after = pool.submit(sleeper, 0.01, "next")
        assert after.wait(60) and after.state == DONE and after.result == "next"
    finally:
        pool.shutdown()


def test_a_job_stops_at_its_time_cap(pool_kind):
    pool = make_pool(pool_kind, 1, time_cap=0.3)
    try:
        job = pool.submit(until_stopped, "capped")
        assert job.wait(60)
        assert job.state == DONE and job.result == {"tag": "capped", "capped": True, "cancelled": False}
        assert 0.3 <= job.runtime < 5
    finally:
        pool.shutdown()


def test_a_process_job_runs_elsewhere_and_a_dead_worker_fails_only_its_job():
    pool = make_pool("process", 1)
    try:
        job = pool.submit(where_am_i)
        assert job.wait(60) and job.result != os.getpid()
        dead = pool.submit(dies)
        assert dead.wait(60) and dead.state == FAILED and "worker running it stopped" in dead.error
        again = pool.submit(where_am_i)
        assert again.wait(60) and again.state == DONE
    finally:
        pool.shutdown()


@pytest.mark.parametrize("how", ["wait", "exit hook", "nobody reads"])
def test_shutdown_stops_a_running_job_even_while_it_floods_messages(how):
    """A server's exit hook shuts down without waiting; and should the listener have stopped reading, a worker
    with a full pipe must still exit (its unread messages are dropped), or it would hold the server's exit."""
    pool = make_pool("process", 1)
    job = pool.submit(chatty)
    deadline = time.monotonic() + 60
    while job.state != RUNNING and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.state == RUNNING
    if how == "nobody reads":
        pool._closed.set()  # noqa: SLF001
        pool._listener.join(timeout=5)  # noqa: SLF001
        assert not pool._listener.is_alive()  # noqa: SLF001
    time.sleep(0.5)  # long enough to fill the pipe
    processes = list(pool._executor._processes.values())  # noqa: SLF001 (shutdown forgets them)
    assert processes
    # In a thread, so that a shutdown that hangs fails the test instead of hanging it (60 s: a bound, not a speed).
    stopping = threading.Thread(target=pool.shutdown, kwargs={"wait": how != "exit hook"}, daemon=True)
    stopping.start()
    stopping.join(timeout=60)
    assert not stopping.is_alive()
    for process in processes:
        process.join(timeout=60)
        # 0, or 255 where the forkserver could no longer report the status (other pools in this test process
        # share it); never an error (1) or a kill (negative).
        assert not process.is_alive() and process.exitcode in (0, 255)


def test_a_waiting_job_cancelled_after_the_executor_took_it_ends_at_once_and_never_runs(pool_kind, tmp_path):
    """A process pool hands the next waiting job to its workers' call queue early, where a future can no longer be
    cancelled: the job must still end now (not when the job ahead ends) and be skipped by its worker, even when
    a newer job is submitted meanwhile."""
    pool = make_pool(pool_kind, 1)
    try:
        record = Recorder()
        blocker = pool.submit(until_stopped, "blocker", on_message=record)
        deadline = time.monotonic() + 60
        while blocker.state != RUNNING and time.monotonic() < deadline:
            time.sleep(0.02)
        first = pool.submit(touch, str(tmp_path / "first"))
        second = pool.submit(sleeper, 0.05, "second", on_message=record)
        time.sleep(0.5)  # time for a process pool's manager thread to hand "first" to the call queue
        pool.cancel(first)
        assert first.wait(60) and first.state == CANCELLED and first.started is None
        assert blocker.state == RUNNING and pool.position(second) == 1
        third = pool.submit(sleeper, 0.05, "third", on_message=record)  # may not take over first's stop flag
        assert pool.position(third) == 2
        pool.cancel(blocker)
        assert second.wait(60) and third.wait(60)
        assert [second.state, third.state] == [DONE, DONE]
        assert [tag for tag, _ in record.of("began")] == ["blocker", "second", "third"]
        assert not (tmp_path / "first").exists()
    finally:
        pool.shutdown()


def test_the_pool_learns_seconds_per_unit_of_work_from_finished_jobs():
    pool = make_pool("thread", 1, seconds_per_work=1.0)
    try:
        job = pool.submit(until_stopped, "x", work=10.0)
        time.sleep(0.5)
        job.progress = 0.5  # as if it had reported half of its work done
        assert pool.remaining_seconds(job) == pytest.approx(job.runtime, rel=0.05)
        pool.cancel(job)
        assert job.wait(60)
        assert pool.seconds_per_work == 1.0  # a stopped job says nothing about the rate
        done = pool.submit(sleeper, 0.5, "y", work=0.25)
        assert done.wait(60)
        done_rate = done.runtime / (0.25 * 0.05)  # no progress reported: counted as 5 % done
        assert pool.seconds_per_work == pytest.approx(1.0 + 0.3 * (done_rate - 1.0))
        assert pool.expected_seconds(2.0) == pytest.approx(2 * pool.seconds_per_work)
    finally:
        pool.shutdown()


# --- training runs through the pool ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist():
    data = load_dataset("mnist", source="bundled")
    return type(data)(name=data.name, train=data.train[:600], test=data.test[:100],
                      train_labels=data.train_labels[:600], test_labels=data.test_labels[:100],
                      label_names=data.label_names, source=data.source)


def run_training(kind: str, spec: TrainSpec, **submit) -> tuple:
    pool = make_pool(kind, 1)
    record = Recorder()
    try:
        job = pool.submit(train_job, spec, on_message=record, **submit)
        assert job.wait(120)
    finally:
        pool.shutdown()
    return job, record


def test_a_training_job_sends_steps_frames_and_epochs_and_frames_do_not_change_the_result(mnist, pool_kind):
    spec = TrainSpec(ModelConfig(kind="vae", hidden=(16,), latent=2), TrainConfig(epochs=2, batch_size=32),
                     mnist, frame_seconds=0.0, step_seconds=0.0)
    job, record = run_training(pool_kind, spec)
    assert job.state == DONE, job.error
    batches = 600 // 32 + 1
    steps = record.of("step")
    assert len(steps) == 2 * batches and steps[-1]["epoch"] == pytest.approx(2.0)
    frames = record.of("frame")
    assert frames[0]["label"] == "untrained" and frames[-1]["label"] == "kept: epoch 2"
    # frame_seconds=0: as often as a frame's cost allows (at most a third of the time goes to frames)
    assert len(frames) >= 4 and all(a["epoch"] <= b["epoch"] for a, b in zip(frames, frames[1:]))
    assert frames[0]["codes"].shape == (100, 2) and set(frames[0]["terms"]) == {"recon", "kl", "loss"}
    assert frames[0]["mosaic"].shape == (8 * 28, 8 * 28) and frames[0]["mosaic"].dtype == np.uint8
    assert not np.array_equal(frames[1]["weights"], frames[2]["weights"])  # each frame is the model then
    assert [e["stats"]["epoch"] for e in record.of("epoch")] == [1, 2]
    # The same run without anyone watching ends with the same weights: frames take nothing from training.
    plain = fresh_model(spec.model_config, 0)
    train(plain, mnist, spec.train_config)
    for key, value in plain.state_dict().items():
        assert np.array_equal(job.result["state"][key], value.numpy()), key


def test_a_wider_code_frames_its_pc1_pc2_plane_with_stable_signs(mnist):
    spec = TrainSpec(ModelConfig(hidden=(16,), latent=5), TrainConfig(epochs=1, batch_size=64), mnist,
                     frame_seconds=0.0)
    job, record = run_training("thread", spec)
    frames = record.of("frame")
    directions = [f["pca"]["directions"] for f in frames]
    assert directions[0].shape == (2, 5) and frames[0]["xy"].shape == (100, 2)
    for before, after in zip(directions[1:-1], directions[2:-1]):
        assert ((before * after).sum(1) >= 0).all()  # never flipped between two frames
    pca = frames[-1]["pca"]
    assert frames[-1]["xy"] == pytest.approx((frames[-1]["codes"] - pca["mean"]) @ pca["directions"].T, abs=1e-4)


def test_a_nan_ends_the_job_with_a_message_and_keeps_the_last_good_epoch(mnist, monkeypatch):
    """In a thread pool (monkeypatch reaches it): the loss turns NaN in epoch 2."""
    from models.autoencoders import Autoencoder

    real_loss, calls = Autoencoder.loss, []

    def loss_that_breaks_in_epoch_2(self, x, corrupt_input=None, generator=None):
        terms = real_loss(self, x, corrupt_input, generator)
        if self.training:
            calls.append(1)
            if len(calls) == 4:  # 3 batches an epoch: the first batch of epoch 2
                terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(Autoencoder, "loss", loss_that_breaks_in_epoch_2)
    spec = TrainSpec(ModelConfig(hidden=(8,)), TrainConfig(epochs=3, batch_size=200), mnist)
    job, record = run_training("thread", spec)
    assert job.state == DONE and job.result["diverged"]
    assert "the loss became nan at epoch 2" in job.result["stopped"] and job.result["best_epoch"] == 1
    (epoch_1,) = record.of("epoch")
    for key, value in epoch_1["best_state"].items():
        assert np.array_equal(job.result["state"][key], value), key


def test_training_work_grows_with_epochs_images_and_layers():
    small, config = ModelConfig(hidden=(16,)), TrainConfig(epochs=1, batch_size=128)
    one = training_work(small, config, 1280)
    assert training_work(small, TrainConfig(epochs=3, batch_size=128), 1280) == pytest.approx(3 * one)
    assert training_work(ModelConfig(hidden=(256,)), config, 1280) > one
    # 10 batches of 128 images: the images' share plus 10 batches' overhead.
    per_image = (one - 10 * 3e8) / 1280
    assert per_image == pytest.approx(6 * (2 * 16 + 16 * 784), rel=1e-9)  # 6 × the decoder's multiply-adds


def test_training_never_touches_a_model_it_did_not_build(mnist):
    """The job builds its own model from the config: a model built here with the same seed stays as it was."""
    spec = TrainSpec(ModelConfig(hidden=(8,)), TrainConfig(epochs=1, batch_size=200), mnist)
    outside = fresh_model(spec.model_config, 0)
    before = {k: v.clone() for k, v in outside.state_dict().items()}
    job, _ = run_training("thread", spec)
    assert job.state == DONE
    assert all(torch.equal(before[k], v) for k, v in outside.state_dict().items())
    assert not all(np.array_equal(job.result["state"][k], v.numpy()) for k, v in before.items())
    assert QUEUED != job.state


def test_a_worker_started_during_a_streamlit_script_run_does_not_run_the_script(tmp_path, monkeypatch):
    """Streamlit runs each page script as __main__, and multiprocessing has a new process import its parent's
    __main__: a worker started while a page runs would run the whole app."""
    import sys
    import types

    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the page ran')\n")
    page = types.ModuleType("__main__")
    page.__file__, page.__spec__ = str(script), None  # as Streamlit's script module looks
    monkeypatch.setitem(sys.modules, "__main__", page)
    pool = make_pool("process", 1)
    try:
        job = pool.submit(where_am_i)
        assert job.wait(60) and job.state == DONE
    finally:
        pool.shutdown()
    assert not marker.exists()
