"""Training runs through the job engine (models/training/job.py): steps, frames and epochs as messages, frames that
are the model as it was then and change nothing, a wider code's PC plane, a NaN that keeps the last good epoch,
the run's spec as it travels to a worker (bundled data by name, an upload as uint8)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.config import ModelConfig, TrainConfig
from models.data import load_dataset
from models.jobs import DONE, QUEUED
from models.jobs.embedded import EmbeddedQueue
from models.training.job import TrainSpec, fresh_model, train_job, training_work
from models.training.trainer import train
from tests.unit.test_jobs import Recorder


@pytest.fixture(params=["thread", pytest.param("process", marks=pytest.mark.slow)])  # a process: whole suite
def pool_kind(request):
    return request.param


@pytest.fixture(scope="module")
def mnist():
    data = load_dataset("mnist", source="bundled")
    return type(data)(name=data.name, train=data.train[:600], test=data.test[:100],
                      train_labels=data.train_labels[:600], test_labels=data.test_labels[:100],
                      label_names=data.label_names, source=data.source)


def run_training(kind: str, spec: TrainSpec, **submit) -> tuple:
    pool = EmbeddedQueue(1, kind)
    record = Recorder()
    try:
        job = pool.submit(train_job, spec.to_wire(), on_message=record, **submit)
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
    train(plain, TrainSpec.from_wire(spec.to_wire()).data, spec.train_config)  # the images as the worker got them
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


def test_a_runs_spec_sends_bundled_data_by_name_and_other_data_as_uint8(mnist):
    from models.errors import ConfigError
    from models.jobs import wire

    full = load_dataset("mnist", source="bundled")
    by_name = TrainSpec(ModelConfig(), TrainConfig(), full, bundled="mnist").to_wire()
    assert len(wire.dumps(by_name)) < 10_000  # names and numbers, no pixels
    back = TrainSpec.from_wire(wire.loads(wire.dumps(by_name)))
    assert torch.equal(back.data.train, full.train) and torch.equal(back.data.test_labels, full.test_labels)
    packed = TrainSpec(ModelConfig(latent=3), TrainConfig(epochs=2), mnist).to_wire()
    pixels = (len(mnist.train) + len(mnist.test)) * 28 * 28
    assert pixels <= len(wire.dumps(packed)) < pixels + 10_000  # one byte a pixel
    back = TrainSpec.from_wire(wire.loads(wire.dumps(packed)))
    assert (back.data.train - mnist.train).abs().max() <= 1 / 510 + 1e-7
    assert back.data.source == mnist.source and back.model_config.latent == 3 and back.train_config.epochs == 2
    by_name["data"]["train"] = 10  # a worker whose bundled set differs from the app's
    with pytest.raises(ConfigError, match="install the same version"):
        TrainSpec.from_wire(by_name)


def test_a_paused_run_sends_a_frame_for_each_single_step(mnist):
    """Pause, then three single steps: each step's frame is one batch further on (batch 64 of 600 images: 10
    batches an epoch), and the loss curve gets a point per step."""
    import time

    spec = TrainSpec(ModelConfig(hidden=(16,)), TrainConfig(epochs=50, batch_size=64), mnist, frame_seconds=60.0,
                     step_seconds=60.0)
    queue = EmbeddedQueue(1, "thread")
    record = Recorder()
    try:
        job = queue.submit(train_job, spec.to_wire(), on_message=record)
        queue.control(job, paused=True)  # from its first step
        deadline = time.monotonic() + 60
        while not job.paused and time.monotonic() < deadline:
            time.sleep(0.02)
        frames_then = len(record.of("frame"))
        for _ in range(3):
            queue.control(job, step=True)
            while len(record.of("frame")) == frames_then and time.monotonic() < deadline:
                time.sleep(0.02)
            frames_then = len(record.of("frame"))
            time.sleep(0.2)
            assert len(record.of("frame")) == frames_then  # one frame a step, then it waits
        epochs = [f["epoch"] for f in record.of("frame")][-4:]  # the pause's frame and three steps
        assert np.diff(epochs) == pytest.approx([0.1, 0.1, 0.1])
        assert [round(p["epoch"], 6) for p in record.of("step")][-3:] == [round(e, 6) for e in epochs[1:]]
        queue.cancel(job)
        assert job.wait(60) and job.state == DONE
    finally:
        queue.shutdown()
