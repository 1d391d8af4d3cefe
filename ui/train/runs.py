"""Training runs on this server (plain: no streamlit calls, so it tests directly): the one pool every session's
runs train in, what a run keeps of its job's messages (loss points, a bounded set of frames to replay), and how a
finished run's model reaches its session's model list, even when the student has gone to another page.

A run's messages arrive on a pool thread while the page reads them on a script thread: each list is only ever
appended to or replaced whole under the run's lock, and the page reads copies.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from models.analysis.latent import Principal
from models.autoencoders import Autoencoder, build_model
from models.config import ModelConfig, TrainConfig
from models.data import Dataset, heldout_only
from models.decoder_program import DecoderProgram, half
from models.jobs import (CANCELLED, DONE, QUEUE_LOST, QUEUED, WORKER_STOPPED, Job, JobQueue, QueueUnavailable,
                         open_queue)
from models.training.checks import behaviour_problem
from models.training.job import SECONDS_PER_UNIT
from models.training.result import TrainResult, training_record
from ui.latent_plane.payload import pack
from ui.latent_plane.views import MAX_BROWSER_MULTIPLY_ADDS, MAX_BROWSER_WEIGHTS, codes_plane, pca_plane
from ui.session_models import ModelChoice
from ui.train.form import MAX_SECONDS, epochs_text

MAX_SESSION_MODELS = 8  # models a session keeps (trained and uploaded); the oldest goes first
MAX_POINTS = 2000  # loss points kept per run (every other one dropped beyond)
MAX_REPLAY_FRAMES, MAX_REPLAY_BYTES = 40, 8 * 2**20  # frames kept to replay a run, spread over it
PC_LIMIT = 3.0  # a wider code's plane reaches ±3σ along PC1 and PC2, as on the Latent page

LOG = logging.getLogger("autoencoder_explorer")
_POOL: JobQueue | None = None
_POOL_LOCK = threading.Lock()
_RETRY_SECONDS = 5.0  # an unreachable Redis is tried again at most this often
_LAST_FAILURE: tuple[float, str] | None = None


def training_pool() -> JobQueue:
    """The server's one queue (models.jobs.open_queue: Redis when AEX_QUEUE_URL is set, else child processes of
    this server, one per CPU this container may use). QueueUnavailable, with a message for the page, when Redis
    cannot be reached; tried again a few seconds later."""
    global _POOL, _LAST_FAILURE
    with _POOL_LOCK:
        if _POOL is None:
            if _LAST_FAILURE is not None and time.monotonic() - _LAST_FAILURE[0] < _RETRY_SECONDS:
                raise QueueUnavailable(_LAST_FAILURE[1])
            try:
                _POOL = open_queue(time_cap=MAX_SECONDS, seconds_per_work=SECONDS_PER_UNIT)
            except QueueUnavailable as exc:
                _LAST_FAILURE = (time.monotonic(), str(exc))
                raise
        return _POOL


@dataclass(eq=False)
class Frame:
    epoch: float  # fractional: 2.5 is half-way through epoch 3
    seconds: float
    label: str
    terms: dict[str, float]  # held-out loss terms on a fixed sample
    codes: np.ndarray  # (n, latent) float32
    xy: np.ndarray  # (n, 2): the codes on the plane
    pca: dict | None  # mean, directions, std, explained of a wider code's plane
    # The decoder program's weights: float32 while live (float16 for a decoder over 1 MB, and None on the frames
    # between two that carry them when even that is over: weights_every), float16 once kept for the replay.
    weights: np.ndarray | None
    mosaic: np.ndarray  # uint8 decoded grid
    weights_every: int = 1

    @property
    def nbytes(self) -> int:
        weights = 0 if self.weights is None else self.weights.nbytes
        return self.codes.nbytes + self.xy.nbytes + weights + self.mosaic.nbytes

    def title(self, batches: int | None = None) -> str:
        """"epoch 1.4 · 2.0 s", or with the batches in an epoch "epoch 1, batch 12 of 36 · 2.0 s" (a step's own)."""
        if batches and not self.label:
            epoch, batch = epoch_and_batch(round(self.epoch * batches), batches)
            return f"epoch {epoch}, batch {batch} of {batches} · {self.seconds:.1f} s"
        return f"{self.label + ' · ' if self.label else ''}epoch {self.epoch:.1f} · {self.seconds:.1f} s"


def epoch_and_batch(done: int, batches: int) -> tuple[int, int]:
    """After `done` steps of `batches` a epoch: (epoch, batch), (1, 0) before the first, (1, n) at epoch 1's end."""
    if done <= 0:
        return 1, 0
    return (done - 1) // batches + 1, (done - 1) % batches + 1


@dataclass(eq=False)
class TrainingRun:
    name: str
    dataset: str  # the sidebar's dataset key: mnist, olivetti, user
    data: Dataset  # what the pages use: the held-out split (the training images only until the run ends)
    model_config: ModelConfig
    train_config: TrainConfig
    title: str  # what is trained, in words
    command: str | None = None  # the CLI that repeats it
    warning: str | None = None  # shown while it trains and after (few gradient steps per epoch)
    job: Job | None = None
    inbox: "Inbox | None" = None
    points: list[dict] = field(default_factory=list)  # {"epoch", "seconds", "train_loss"}
    curve: list[dict] = field(default_factory=list)  # each frame's {"epoch", "seconds", **held-out terms}
    frames: list[Frame] = field(default_factory=list)  # kept to replay the run
    latest: Frame | None = None
    drawn: Frame | None = None  # the newest frame that carries the decoder: the one the plane shows
    frames_seen: int = 0
    history: list[dict] = field(default_factory=list)
    best_state: dict[str, np.ndarray] | None = None
    kept_epoch: int = 0
    start: dict | None = None  # the job's first message: sample indices, decoder ops, batches per epoch
    outcome: TrainResult | None = None
    refused: str | None = None  # why the trained model was not kept (codes no page can draw)
    failed: bool = False
    model: Autoencoder | None = None
    delay_sent: float = 0.0  # the delay after every batch last asked of the job (0: real time)
    pause_asked: bool = False  # what the page last asked (job.paused follows once the worker obeys)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _packed: tuple | None = None  # (frame, its payload): a redraw without a new frame packs nothing

    @property
    def finished(self) -> bool:
        return self.job is not None and self.job.finished and self.outcome is not None

    # --- the job's messages (a pool thread) ---------------------------------------------------------------
    def receive(self, kind: str, payload) -> None:
        if kind == "start":
            self.start = payload
        elif kind == "step":
            with self._lock:
                self.points = _thinned(self.points + [payload], MAX_POINTS)
        elif kind == "frame":
            frame = Frame(**payload)
            with self._lock:
                self.curve = _thinned(self.curve + [{"epoch": frame.epoch, "seconds": frame.seconds,
                                                     **frame.terms}], MAX_POINTS)
                self.latest, self.frames_seen = frame, self.frames_seen + 1
                if frame.weights is not None:  # only frames with their decoder can be replayed on the plane
                    self.drawn = frame
                    self.frames = _spread(self.frames + [replace(frame, weights=half(frame.weights))])
        elif kind == "epoch":
            with self._lock:
                self.history = self.history + [payload["stats"]]
                if payload["best_state"] is not None:
                    self.best_state, self.kept_epoch = payload["best_state"], payload["stats"]["epoch"]

    def end(self, job: Job) -> None:
        """The job ended (a pool thread): settle how, build the model, and send it to the session. From here on the
        run, its model and the last run keep only the held-out images (the record still counts the training ones)."""
        self.data = heldout_only(self.data)
        epochs = self.train_config.epochs
        kept = f"kept the weights of epoch {self.kept_epoch}" if self.kept_epoch else "no epoch was kept"
        if job.state == DONE:
            r = job.result
            if r.get("precision", self.train_config.precision) != self.train_config.precision:
                # The worker chose it (bfloat16 where its CPU has it natively): the record and command say so.
                self.train_config = replace(self.train_config, precision=r["precision"])
                self.command = self.command and f"{self.command} --precision {r['precision']}"
            self.history = r["history"]
            self.best_state, self.kept_epoch = r["state"], r["best_epoch"] if r["state"] is not None else 0
            self.refused = r["problem"]
            outcome = TrainResult(history=r["history"], stopped=r["stopped"], seconds=r["seconds"],
                                  best_epoch=self.kept_epoch, diverged=r["diverged"],
                                  initial_heldout_loss=r["initial_heldout_loss"])
        elif job.state == CANCELLED:
            outcome = TrainResult(history=[], stopped="cancelled before it started", best_epoch=0)
        else:  # failed: the details are in the server's log, the student gets the kind of error
            self.failed = True
            if job.error in (WORKER_STOPPED, QUEUE_LOST):  # the engine's own words, fit for the page
                why = job.error
            else:
                why = f"the run stopped with an unexpected error ({(job.error or 'an error').split(':', 1)[0]})"
            during = f"during epoch {len(self.history) + 1} of {epochs}" if job.started else "before it started"
            outcome = TrainResult(history=self.history, seconds=job.runtime, best_epoch=self.kept_epoch,
                                  stopped=f"{why} {during}; {kept}")
        self.model = self.trained_model() if not self.refused else None
        if self.failed and self.model is not None:  # its last good epoch was not checked in the worker
            self.refused = behaviour_problem(self.model, self.data.test)
            self.model = None if self.refused else self.model
        self.outcome = outcome
        if self.model is not None and self.inbox is not None:
            record = training_record(outcome, self.data, self.train_config, self.command)
            title = f"{self.title}, {epochs_text(len(outcome.history))}" + (
                "" if self.kept_epoch == len(outcome.history) else f", kept epoch {self.kept_epoch}")
            self.inbox.put(ModelChoice(name=self.name, title=title, dataset=self.dataset, model=self.model,
                                       record=record, data=self.data, purpose="trained here", trained_here=True))

    def trained_model(self) -> Autoencoder | None:
        """The model with its kept weights, read-only like the shipped ones; None if no epoch was kept."""
        if self.best_state is None or not self.kept_epoch:
            return None
        model = build_model(self.model_config)
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.best_state.items()})
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        return model.eval()

    def record(self) -> dict:
        return training_record(self.outcome, self.data, self.train_config, self.command)

    # --- what the page reads (a script thread) ---------------------------------------------------------------
    def snapshot(self) -> tuple[list[dict], list[dict], list[Frame], Frame | None]:
        with self._lock:
            return self.points, self.curve, self.frames, self.latest

    def batches_done(self) -> int:
        """Optimiser steps taken so far, from whichever report is newest: the job's progress, its newest loss
        point or frame (a queue may thin out progress reports; a paused job sends a frame after each step)."""
        batches = (self.start or {}).get("batches", 1)
        points, _, _, latest = self.snapshot()
        fractions = [self.job.progress * self.train_config.epochs if self.job is not None else 0.0]
        fractions += [points[-1]["epoch"]] if points else []
        fractions += [latest.epoch] if latest is not None and not latest.label else []  # labelled: whole epochs
        return round(max(fractions) * batches)

    def batch_counter(self) -> tuple[int, int, int]:
        """(epoch, batch, batches) of the newest step: (1, 0, n) before the first, (1, n, n) at epoch 1's end."""
        batches = (self.start or {}).get("batches", 1)
        return *epoch_and_batch(self.batches_done(), batches), batches

    def labels(self) -> np.ndarray | None:
        if self.data.test_labels is None or self.start is None:
            return None
        return self.data.test_labels.numpy()[self.start["indices"]]

    def program(self, weights: np.ndarray) -> DecoderProgram:
        """The decoder as the browser gets it: float16 weights stay float16 (half the bytes; the browser widens
        them), anything else is sent as float32."""
        s = self.start
        weights = weights if weights.dtype == np.float16 else np.asarray(weights, np.float32)
        return DecoderProgram(ops=s["ops"], weights=weights, latent=s["latent"], image_shape=tuple(s["image_shape"]),
                              weight_count=int(weights.size))

    def plane_problem(self) -> str | None:
        """Why the browser cannot draw this run's plane, or None."""
        if self.model_config.latent < 2:
            return "a 1-D code has no plane to draw"
        if self.start is None or self.drawn is None:
            return "no frame yet"
        program = self.program(self.drawn.weights)
        if program.weight_count > MAX_BROWSER_WEIGHTS or program.multiply_adds > MAX_BROWSER_MULTIPLY_ADDS:
            return "its decoder is too large to send to a browser every second"
        return None

    def payload(self, frame: Frame) -> bytes:
        """The latent plane's payload for one frame: the decoder as it was then and its held-out codes (a frame
        without the decoder shows the newest one that had it, so that codes and decoder are of one moment)."""
        frame = self.plane_frame(frame)
        codes = torch.from_numpy(np.asarray(frame.codes, np.float32))
        if frame.pca is None:
            spec = codes_plane(codes)
        else:
            spec = pca_plane(Principal(**{k: torch.from_numpy(np.asarray(v)) for k, v in frame.pca.items()}),
                             PC_LIMIT)
        return pack(self.plane_id, self.title, self.program(frame.weights), spec, frame.xy, frame.codes,
                    self.labels(), self.data.label_names, None)

    def plane_frame(self, frame: Frame) -> Frame:
        """The frame whose plane shows for `frame`: itself, or the newest one before it with the decoder."""
        return frame if frame.weights is not None else self.drawn

    def cached_payload(self, frame: Frame) -> bytes:
        frame = self.plane_frame(frame)  # frames without the decoder reuse the last payload: nothing new to send
        packed = self._packed
        if packed is None or packed[0] is not frame:
            packed = self._packed = (frame, self.payload(frame))
        return packed[1]

    @property
    def plane_id(self) -> str:
        return f"train:{self.name}"


def _thinned(values: list, limit: int) -> list:
    """Every other value once there are more than `limit` (the first and the newest always stay)."""
    return values if len(values) <= limit else values[:-1:2] + values[-1:]


def _spread(frames: list[Frame]) -> list[Frame]:
    """At most MAX_REPLAY_FRAMES frames and MAX_REPLAY_BYTES, spread over the run: drop, one at a time, the
    frame whose neighbours are closest in time (never the first or the newest)."""
    frames = list(frames)
    while len(frames) > 2 and (len(frames) > MAX_REPLAY_FRAMES or sum(f.nbytes for f in frames) > MAX_REPLAY_BYTES):
        i = min(range(1, len(frames) - 1), key=lambda j: frames[j + 1].seconds - frames[j - 1].seconds)
        del frames[i]
    return frames


# --- a session's run when the session ends ------------------------------------------------------------------------
class SessionGuard:
    """Kept in a session's state. Streamlit drops a session's state once its tab has been closed for
    server.disconnectedSessionTTL seconds; this object is then collected, and a run it watches that is still
    waiting leaves the queue (a running one finishes: its model is simply never collected)."""

    def watch(self, queue: JobQueue, job: Job) -> None:
        weakref.finalize(self, _leave_queue, queue, job)


def _leave_queue(queue: JobQueue, job: Job) -> None:
    if not job.finished and job.state == QUEUED:
        try:
            queue.cancel(job)
        except Exception:  # noqa: BLE001 (a finaliser must not raise; the job's keys expire in Redis anyway)
            LOG.warning("a closed session's waiting run could not be cancelled", exc_info=True)


# --- a session's models ---------------------------------------------------------------------------------------
class Inbox:
    """Models of a session's finished runs on their way to its model list: a pool thread puts, the session's next
    script run (on any page: ui.sidebar.sidebar) delivers. Also the notices of models dropped by the cap."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: list[ModelChoice] = []
        self.dropped: list[str] = []  # titles dropped since the Train page last said so

    def put(self, choice: ModelChoice) -> None:
        with self._lock:
            self._waiting.append(choice)

    def deliver(self, models: dict[str, ModelChoice]) -> list[str]:
        """Add the waiting models to `models` (a script thread); returns their names."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        for choice in waiting:
            add_model(models, choice, self.dropped)
        return [choice.name for choice in waiting]


def add_model(models: dict[str, ModelChoice], choice: ModelChoice, dropped: list[str]) -> ModelChoice:
    """Add a model under a title no other model of the session has, then drop the oldest models beyond
    MAX_SESSION_MODELS (their titles go to `dropped`)."""
    taken = {other.title for other in models.values()}
    if choice.title in taken:
        choice = replace(choice, title=f"{choice.title} · #{choice.name.rsplit('-', 1)[-1]}")
    models[choice.name] = choice
    while len(models) > MAX_SESSION_MODELS:
        oldest = next(iter(models))
        dropped.append(models.pop(oldest).title)
    return choice
