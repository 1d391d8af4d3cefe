"""A live frame sends at most 1 MB of decoder weights to the browser: float32 up to 1 MB, float16 above, and for a
decoder over 1 MB even as float16, its weights with one frame in k (models/decoder_program.py frame_weights,
models/training/job.py Frames.frame, ui/train/runs.py, ui/latent_plane/payload.py; decoder.js widens float16)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.config import ModelConfig, TrainConfig
from models.decoder_program import MAX_FRAME_WEIGHT_BYTES, DecoderProgram, decoder_program, run_program
from models.training.job import Frames, TrainSpec, fresh_model
from ui.latent_plane.payload import unpack
from ui.train.runs import TrainingRun

HALF_UNIT = 2.0 ** -11  # float16's unit roundoff: round to nearest with a 10-bit fraction
LIPSCHITZ = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0}


class Recorder:
    """A JobContext's emit, without a pool: what the job sends, in order."""

    def __init__(self):
        self.messages: list[tuple[str, object]] = []

    def emit(self, kind, payload=None):
        self.messages.append((kind, payload))

    def of(self, kind):
        return [payload for k, payload in self.messages if k == kind]


def live_frames(mnist, config: ModelConfig, count: int) -> tuple[Recorder, TrainingRun, torch.nn.Module]:
    """The untrained frame and `count` plain frames of a fresh model, as a run on the page receives them."""
    model, ctx = fresh_model(config, 0), Recorder()
    spec = TrainSpec(config, TrainConfig(epochs=1, batch_size=256), mnist)
    frames = Frames(ctx, model, spec)
    frames.frame(0.0, 0.0, "untrained")
    for i in range(count):
        frames.frame(0.1 * (i + 1), 0.5 * (i + 1))
    run = TrainingRun(name="big", dataset="mnist", data=mnist, model_config=config, train_config=spec.train_config,
                      title="big")
    for kind, payload in ctx.messages:
        run.receive(kind, payload)
    return ctx, run, model


def error_bound(program: DecoderProgram, z: np.ndarray) -> np.ndarray:
    """First-order bound on |decode with float16-rounded weights − decode with the float32 ones| for a dense
    program: a linear layer adds u·(|W||x| + |b|) and carries |W|·(error in), an activation scales by its slope
    bound (σ' ≤ 1/4)."""
    x, error = z.astype(np.float64), np.zeros_like(z, np.float64)
    w = program.weights.astype(np.float64)
    for op in program.ops:
        if op["op"] == "linear":
            weight = w[op["w"][0]:op["w"][0] + op["w"][1]].reshape(op["out"], op["in"])
            bias = w[op["b"][0]:op["b"][0] + op["b"][1]]
            error = np.abs(weight) @ error + HALF_UNIT * (np.abs(weight) @ np.abs(x) + np.abs(bias))
            x = weight @ x + bias
        else:
            x = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0)}[
                op["fn"]](x)
            error = error * LIPSCHITZ[op["fn"]]
    return error


def test_a_decoder_over_1_mb_in_float32_sends_float16_that_decodes_within_float16_error(mnist):
    config = ModelConfig(hidden=(320,), latent=2)  # decoder 2 → 320 → 784: 252,624 weights, 1.01 MB as float32
    _, run, model = live_frames(mnist, config, 2)
    exact = decoder_program(model)
    assert exact.weight_count > 250_000 and exact.weights.nbytes > MAX_FRAME_WEIGHT_BYTES

    header, arrays = unpack(run.cached_payload(run.latest))
    assert header["buffers"]["weights"]["dtype"] == "f16"
    assert arrays["weights"].nbytes <= MAX_FRAME_WEIGHT_BYTES and arrays["weights"].size == exact.weight_count
    assert run.latest.weights_every == 1  # float16 fits: every frame brings the decoder

    # The browser widens float16 to float32 and runs the float32 kernels: run_program with those weights.
    sent = DecoderProgram(ops=header["program"]["ops"], weights=arrays["weights"].astype(np.float32),
                          latent=2, image_shape=tuple(header["program"]["image_shape"]))
    z = np.random.default_rng(0).normal(0, 2, (20, 2)).astype(np.float32)
    got, want = run_program(sent, z), run_program(exact, z)
    bound = np.stack([error_bound(exact, row) for row in z]).reshape(got.shape)
    difference = np.abs(got.astype(np.float64) - want)
    assert difference.max() > 0  # float16 really was sent
    assert (difference <= bound + 1e-6).all(), float((difference - bound).max())  # 1e-6: float32 arithmetic


def test_a_decoder_within_1_mb_still_sends_exact_float32(mnist):
    config = ModelConfig(hidden=(256,), latent=2)  # the Train page's default: 201,488 weights, 0.81 MB
    _, run, model = live_frames(mnist, config, 1)
    header, arrays = unpack(run.cached_payload(run.latest))
    assert header["buffers"]["weights"]["dtype"] == "f32"
    assert np.array_equal(arrays["weights"], decoder_program(model).weights)


def test_a_decoder_over_1_mb_even_in_float16_sends_it_with_one_frame_in_k(mnist):
    config = ModelConfig(hidden=(512, 512), latent=2)  # 666,384 weights: 1.33 MB as float16, so k = 2
    ctx, run, model = live_frames(mnist, config, 5)
    assert decoder_program(model).weight_count * 2 == pytest.approx(1.33e6, rel=0.01)
    sent = ctx.of("frame")
    carries = [f["weights"] is not None for f in sent]
    assert carries == [True, False, True, False, True, False]  # untrained, then every other frame
    assert {f["weights_every"] for f in sent} == {2}
    weight_bytes = [0 if f["weights"] is None else f["weights"].nbytes for f in sent]
    for start in range(len(sent) - 1):  # any two frames in a row: at most 1 MB of weights a frame
        assert sum(weight_bytes[start:start + 2]) <= 2 * MAX_FRAME_WEIGHT_BYTES
    assert all(f["weights"].dtype == np.float16 for f in sent if f["weights"] is not None)

    # The page: the newest frame has no decoder, so the plane stays on the frame before it (codes and decoder of
    # one moment) and nothing new is packed; the replay keeps only frames it can draw.
    assert run.latest is not run.drawn and run.drawn.seconds == pytest.approx(2.0)
    assert run.cached_payload(run.latest) is run.cached_payload(run.drawn)
    _, arrays = unpack(run.payload(run.latest))
    assert np.array_equal(arrays["xy"].reshape(-1, 2), run.drawn.xy)
    assert [f.seconds for f in run.frames] == [0.0, 1.0, 2.0]
    assert run.plane_problem() is None


def test_labelled_frames_always_carry_the_decoder(mnist):
    config = ModelConfig(hidden=(512, 512), latent=2)
    model, ctx = fresh_model(config, 0), Recorder()
    frames = Frames(ctx, model, TrainSpec(config, TrainConfig(epochs=1), mnist))
    frames.frame(0.0, 0.0, "untrained")
    frames.frame(1.0, 1.0, "kept: epoch 1")  # the second frame, which k = 2 would otherwise leave bare
    assert [f["weights"] is not None for f in ctx.of("frame")] == [True, True]
