"""A training run as a job for models.jobs: a fresh model trained on its own copy of the data, sending
what a class watches while it learns.

Messages, each taken inside the training loop between two optimiser steps (so a frame is the model as it is at
that moment, never a mix of two steps):
- "step": the mean training loss over the batches since the last point, a few times a second;
- "frame": about twice a second, the held-out codes (and their principal plane for a wider code), the held-out
  loss terms on a fixed sample, a decoded grid, and the decoder's weights as the browser's latent plane runs them;
- "epoch": each finished epoch's numbers, with the best epoch's weights whenever they change, so that a job that
  fails later still leaves its last good weights behind.
The job returns how the run ended and the kept weights. Nothing here touches a model that it did not build.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from models.analysis.latent import principal_directions
from models.autoencoders import Autoencoder, build_model, code_range_axis
from models.config import ModelConfig, TrainConfig
from models.data import Dataset, load_dataset
from models.data.packed import UploadedSet, pack, unpack
from models.decoder_program import decoder_program
from models.errors import ConfigError
from models.jobs.runner import JobContext
from models.training.checks import behaviour_problem
from models.training.trainer import evaluate, native_bfloat16, train

MAX_PARAMETERS = 10_000_000  # weights, Adam's two moments and snapshots: ~200 MB at most
STEP_SECONDS = 0.1  # a loss point this often
FRAME_SECONDS = 0.5  # a frame this often; up to once a second when frames would take over a third of the time
MAX_FRAME_CODES = 1000  # held-out codes drawn per frame (a fixed sample beyond)
TERM_SAMPLE = 256  # held-out images whose loss terms each frame measures
PC_REACH = 2.0  # a wider code's grid spans ±2σ along PC1 and PC2
# Work units (see training_work): a training step costs about 6 decoder passes per image (forward and backward,
# encoder and decoder), a convolution about 3× a dense layer's multiply-add, a batch about 3e8 units of Python
# and dispatch. Measured on the 2-core server: dense 256-2 at batch 16/128/1024 and conv 16-32 (benchmarks/load.py
# prints the rate a real run learns).
UNITS_PER_BATCH, CONV_FACTOR, SECONDS_PER_UNIT = 3e8, 3.0, 3.6e-11


def check_size(config: ModelConfig) -> int:
    """The model's parameter count, counted on the meta device (no memory, no time); a ConfigError above
    MAX_PARAMETERS, so a run too big for a shared server is refused before it joins the queue."""
    with torch.device("meta"):
        size = sum(p.numel() for p in build_model(config).parameters())
    if size > MAX_PARAMETERS:
        raise ConfigError(f"this model has {size:,} parameters; the Train page allows at most {MAX_PARAMETERS:,} "
                          f"on a shared server: use fewer or narrower hidden layers")
    return size


def fresh_model(config: ModelConfig, seed: int) -> Autoencoder:
    """A newly initialised model; seeding in a forked RNG leaves the global generator as other sessions see it."""
    check_size(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


def training_work(config: ModelConfig, train_config: TrainConfig, n_train: int) -> float:
    """The size of a run in work units (the pool learns seconds per unit from the runs that finish)."""
    with torch.device("meta"):
        macs = decoder_program(build_model(config), with_weights=False).multiply_adds
    per_image = 6 * macs * (CONV_FACTOR if config.arch == "conv" else 1.0)
    if config.contractive_weight > 0 and not (config.single_layer and config.code_activation == "sigmoid"):
        per_image *= 1 + config.latent  # one more backward pass per code unit
    batches = math.ceil(n_train / train_config.batch_size)
    return float(train_config.epochs * (n_train * per_image + batches * UNITS_PER_BATCH))


@functools.cache
def fastest_precision() -> str:
    """bfloat16 (mixed precision) where this machine's CPU does it natively, checked once per process; float32
    elsewhere, where emulated bfloat16 would be slower."""
    return "bfloat16" if native_bfloat16() else "float32"


def worker_setup(threads: int) -> None:
    """A worker process's setup: its share of the cores, and torch's fused Adam made once (its first use in a
    process imports for ~3 s, which the first run would otherwise wait through)."""
    torch.set_num_threads(max(1, threads))
    weight = torch.zeros(1, requires_grad=True)
    weight.grad = torch.zeros(1)
    try:
        torch.optim.Adam([weight], fused=True).step()
    except (RuntimeError, TypeError):  # no fused kernel here: train() falls back too
        pass


@dataclass
class TrainSpec:
    model_config: ModelConfig
    train_config: TrainConfig  # threads must be None in a thread pool: torch's thread count is process-wide
    data: Dataset | UploadedSet  # an upload stays uint8 on its way to the worker
    frame_seconds: float = FRAME_SECONDS
    step_seconds: float = STEP_SECONDS
    bundled: str | None = None  # "mnist": the worker loads the bundled set by name instead of receiving it
    fastest_precision: bool = False  # the worker trains in bfloat16 where its CPU has it natively

    def to_wire(self) -> dict:
        """What a worker elsewhere needs, as models.jobs.wire carries it: configs as dicts, and the data either
        by name (a bundled set, the same on every machine) or as uint8 arrays (an upload)."""
        data = {"bundled": self.bundled, "train": len(self.data.train), "test": len(self.data.test)} \
            if self.bundled else {"packed": pack(self.data)}
        return {"model_config": self.model_config.to_dict(), "train_config": self.train_config.to_dict(),
                "data": data, "frame_seconds": self.frame_seconds, "step_seconds": self.step_seconds,
                "fastest_precision": self.fastest_precision}

    @classmethod
    def from_wire(cls, spec: dict) -> "TrainSpec":
        data = spec["data"]
        if data.get("bundled"):
            dataset = load_dataset(data["bundled"], source="bundled")
            if (len(dataset.train), len(dataset.test)) != (data["train"], data["test"]):
                raise ConfigError(f"this worker's {data['bundled']} has {len(dataset.train)} / {len(dataset.test)} "
                                  f"images, the app's {data['train']} / {data['test']}: install the same version")
        else:
            dataset = unpack(data["packed"])
        train_config = TrainConfig.from_dict(spec["train_config"])
        if spec.get("fastest_precision"):
            train_config = replace(train_config, precision=fastest_precision())
        return cls(ModelConfig.from_dict(spec["model_config"]), train_config, dataset, spec["frame_seconds"],
                   spec["step_seconds"])


class Frames:
    """Builds the messages from the model between optimiser steps."""

    def __init__(self, ctx: JobContext, model: Autoencoder, spec: TrainSpec):
        self.ctx, self.model, self.spec = ctx, model, spec
        test = spec.data.test
        pick = torch.arange(len(test)) if len(test) <= MAX_FRAME_CODES else \
            torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:MAX_FRAME_CODES]
        self.images, self.terms_images = test[pick], test[pick[:TERM_SAMPLE]]
        self.batches = math.ceil(len(spec.data.train) / spec.train_config.batch_size)
        self.last_point = self.last_frame = time.monotonic()
        self.frame_cost = 0.0
        self.previous = (0, 0.0, 0)  # (epoch, loss total, images) at the last point
        self.directions: torch.Tensor | None = None  # PC1-PC2 of the last frame, to keep their signs
        self.last_step: tuple[float, float] | None = None  # (epoch, seconds) of the newest step
        ctx.on_pause = self.on_pause
        self.frames_sent = 0  # a decoder over 1 MB even in float16 sends its weights with one frame in k
        program = decoder_program(model, with_weights=False)
        ctx.emit("start", {"indices": pick.numpy(), "ops": program.ops, "latent": program.latent,
                           "image_shape": program.image_shape, "batches": self.batches})

    def on_step(self, stats: dict) -> None:
        now = time.monotonic()
        epoch, batch = stats["epoch"], stats["batch"]
        seen = min(batch * self.spec.train_config.batch_size, len(self.spec.data.train))
        total = stats["train_loss"] * seen
        self.ctx.progress(((epoch - 1) * self.batches + batch) / (self.spec.train_config.epochs * self.batches))
        self.last_step = (epoch - 1 + batch / self.batches, stats["seconds"])
        stepping = self.ctx.paused  # one step while paused: the class watches every one
        if stepping or now - self.last_point >= self.spec.step_seconds or batch == self.batches:
            last_epoch, last_total, last_seen = self.previous
            if last_epoch != epoch:
                last_total, last_seen = 0.0, 0
            if seen > last_seen:
                self.ctx.emit("step", {"epoch": epoch - 1 + batch / self.batches, "seconds": stats["seconds"],
                                       "train_loss": (total - last_total) / (seen - last_seen)})
            self.previous, self.last_point = (epoch, total, seen), now
        if stepping or now - self.last_frame >= max(self.spec.frame_seconds, min(2 * self.frame_cost, 1.0)):
            self.frame(*self.last_step)

    def on_pause(self) -> None:
        """A pause begins: draw the model as it is now, so the plane shows where training stopped."""
        if self.last_step is not None:
            self.frame(*self.last_step)

    def on_epoch(self, stats: dict) -> None:
        best = stats.get("best_epoch") == stats["epoch"]
        state = {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()} if best else None
        self.ctx.emit("epoch", {"stats": stats, "best_state": state})

    def frame(self, epoch: float, seconds: float, label: str = "") -> None:
        started = time.monotonic()
        model = self.model
        codes = model.embed(self.images)
        if not torch.isfinite(codes).all():
            return  # nothing to draw; the loss guard will end the run
        pca = None
        if model.config.latent > 2:
            pca = principal_directions(codes, 2)
            directions = pca.directions.clone()
            if self.directions is not None:  # SVD may flip a direction between frames: keep the picture's side
                signs = torch.sign((directions * self.directions).sum(1)).clamp(min=0) * 2 - 1
                directions *= signs[:, None]
            self.directions = directions
            pca = type(pca)(mean=pca.mean, directions=directions, std=pca.std, explained=pca.explained)
            xy = pca.project(codes)
        else:
            xy = codes if model.config.latent == 2 else torch.cat([codes, torch.zeros_like(codes)], 1)
        terms = evaluate(model, self.terms_images, seed=self.spec.train_config.seed)
        weights, every = decoder_program(model).frame_weights()
        if label == "" and self.frames_sent % every:  # labelled frames (first, kept) always carry the decoder
            weights = None
        self.frames_sent += 1
        self.ctx.emit("frame", {
            "epoch": epoch, "seconds": seconds, "label": label, "terms": terms,
            "codes": codes.numpy().astype(np.float32), "xy": xy.numpy().astype(np.float32),
            "pca": None if pca is None else {k: getattr(pca, k).numpy() for k in ("mean", "directions", "std",
                                                                                   "explained")},
            "weights": weights, "weights_every": every, "mosaic": self.mosaic(codes, pca)})
        self.last_frame = time.monotonic()
        self.frame_cost = self.last_frame - started

    @torch.no_grad()
    def mosaic(self, codes: torch.Tensor, pca) -> np.ndarray:
        """A grid of decodes across the codes (2-D) or across ±2σ of PC1-PC2 (wider), top row = largest y."""
        model = self.model
        side = 8 if model.config.input_shape[-1] <= 32 else 6
        if pca is not None:
            a = torch.linspace(-PC_REACH, PC_REACH, side)
            grid = torch.stack(torch.meshgrid(a.flip(0), a, indexing="ij"), -1).reshape(-1, 2)
            z = pca.mean + (grid[:, 1:2] * pca.std[0]) * pca.directions[0] + (grid[:, 0:1] * pca.std[1]) * \
                pca.directions[1]
            images = model.decode_codes(z).reshape(side, side, *model.config.input_shape)
        elif model.config.latent == 2:
            images = model.decode_grid(code_range_axis(codes, 0, side), code_range_axis(codes, 1, side))
        else:
            images = model.decode_codes(code_range_axis(codes, 0, side * side)[:, None]).reshape(
                side, side, *model.config.input_shape)
        c, h, w = model.config.input_shape
        tiles = images.mean(2) if c > 1 else images[:, :, 0]  # (rows, cols, H, W)
        sheet = tiles.permute(0, 2, 1, 3).reshape(side * h, side * w)
        return (sheet.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def train_job(ctx: JobContext, wire_spec: dict) -> dict:
    """The job: train a fresh model on the spec's data (TrainSpec.to_wire), sending steps, frames and epochs;
    returns how it ended."""
    spec = TrainSpec.from_wire(wire_spec)
    model = fresh_model(spec.model_config, spec.train_config.seed)
    frames = Frames(ctx, model, spec)
    frames.frame(0.0, 0.0, "untrained")
    result = train(model, spec.data, spec.train_config, on_progress=frames.on_epoch, should_stop=ctx.should_stop,
                   on_step=frames.on_step, step_every=1)
    done = len(result.history)
    if ctx.capped:  # train() only knows that should_stop said so
        kept = f"; kept the weights of epoch {result.best_epoch}" if result.best_epoch else ""
        result.stopped = (f"reached the {ctx.time_cap:g}-second time cap during epoch {done + 1}{kept}. Try fewer "
                          f"epochs, smaller layers or a bigger batch")
    kept = result.best_epoch if result.best_epoch is not None else done
    state = problem = None
    if kept:
        state = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
        problem = behaviour_problem(model, spec.data.test)
        if not problem:
            frames.frame(float(done), result.seconds, f"kept: epoch {kept}")
    return {"history": result.history, "stopped": result.stopped, "seconds": result.seconds,
            "diverged": result.diverged, "best_epoch": kept, "initial_heldout_loss": result.initial_heldout_loss,
            "state": state, "problem": problem, "cancelled": ctx.cancelled, "capped": ctx.capped,
            "precision": spec.train_config.precision}
