"""What runs a job, wherever it runs (a child process of the app, an RQ work-horse, or a thread in tests): the
context it reports through, and the wrapper that brackets it with STARTED and END. A job is named, not pickled:
{"task": "module:function", "args": [...]} with arguments that models.jobs.wire carries.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.jobs.base import CANCELLED, DONE, END, FAILED, PAUSED, PROGRESS, STARTED

TASK_PACKAGES = ("models.", "tests.")  # where a worker may look a job's function up
PRELOAD = ("models.training.job",)  # imported once per worker, so that a job starts without seconds of imports
MAX_DELAY = 5.0  # seconds after each step at most
MAX_WATCHING = 300.0  # seconds a job may spend paused or slowed down in all before it stops


@dataclass
class Control:
    """What the people watching a job ask of it besides stopping: pause after the current step, run `steps` more
    steps while paused (a counter: each request adds one), wait `delay` seconds after every step."""

    paused: bool = False
    steps: int = 0
    delay: float = 0.0

    def apply(self, line: str) -> bool:
        """One control line ("pause", "resume", "step", "delay 0.1"); False for "stop"."""
        word, _, value = line.strip().partition(" ")
        if word == "pause":
            self.paused = True
        elif word == "resume":
            self.paused = False
        elif word == "step":
            self.steps += 1
        elif word == "delay":
            self.delay = min(max(float(value or 0), 0.0), MAX_DELAY)
        return word != "stop"


def control_lines(paused: bool | None = None, step: bool = False, delay: float | None = None) -> list[str]:
    lines = [] if paused is None else ["pause" if paused else "resume"]
    lines += ["step"] if step else []
    return lines + ([] if delay is None else [f"delay {float(delay):g}"])


class JobContext:
    """What a job sees while it runs: emit messages, report progress, ask whether to stop (which is also where it
    waits while paused, and where it slows down for a class to watch)."""

    def __init__(self, send: Callable[[str, Any], None], stop_flag: Callable[[], bool], time_cap: float | None,
                 control: Callable[[], Control] | None = None):
        self._send, self._stop_flag, self._control = send, stop_flag, control or Control
        self.started = time.monotonic()
        self.time_cap = time_cap
        self.capped = False  # the job ran past its time cap
        self.cancelled = False  # someone asked it to stop
        self.paused = False  # waiting for resume or step
        self.on_pause: Callable[[], None] | None = None  # the job's hook as a pause begins (e.g. draw a frame)
        self.watched = 0.0  # seconds spent paused or in delays: not counted against the time cap
        self._steps_taken = 0

    def emit(self, kind: str, payload: Any = None) -> None:
        self._send(kind, payload)

    def progress(self, fraction: float) -> None:
        self._send(PROGRESS, float(fraction))

    def should_stop(self) -> bool:
        """Asked after every step: True to stop now; meanwhile pause, step and delay are obeyed here."""
        self._obey()
        if self._stop_flag():
            self.cancelled = True
        elif self.time_cap is not None and time.monotonic() - self.started - self.watched > self.time_cap:
            self.capped = True
        elif self.watched > MAX_WATCHING:
            self.capped = True  # paused or slowed down too long: the worker is the class's
        return self.cancelled or self.capped

    def _obey(self) -> None:
        began = time.monotonic()
        control = self._control()
        if control.delay > 0:
            while time.monotonic() - began < control.delay and not self._stop_flag():
                time.sleep(min(0.05, control.delay))
        while control.paused and control.steps <= self._steps_taken and not self._stop_flag():
            if not self.paused:
                self.paused = True
                if self.on_pause is not None:  # its frame first: "paused" then means the picture is there
                    self.on_pause()
                self._send(PAUSED, True)
            if self.watched + time.monotonic() - began > MAX_WATCHING:
                break
            time.sleep(0.03)
            control = self._control()
        if control.paused and control.steps > self._steps_taken:
            self._steps_taken += 1  # one step per request
        elif self.paused and not control.paused:
            self.paused = False
            self._send(PAUSED, False)
        self.watched += time.monotonic() - began


def resolve(name: str) -> Callable:
    """The function a task names, from this project's packages only."""
    module, _, function = str(name).partition(":")
    if not module.startswith(TASK_PACKAGES) or not function.isidentifier():
        raise ValueError(f"a job may only run this project's functions, not {name!r}")
    return getattr(importlib.import_module(module), function)


def execute(spec: dict, send: Callable[[str, Any], None], stop_flag: Callable[[], bool],
            control: Callable[[], Control] | None = None) -> None:
    """Run one job: STARTED (with this process's id), its own messages, then END with how it ended."""
    if stop_flag():  # cancelled while a worker was picking it up
        send(END, {"state": CANCELLED})
        return
    send(STARTED, {"pid": os.getpid()})
    ctx = JobContext(send, stop_flag, spec.get("time_cap"), control)
    try:
        outcome = {"state": DONE, "result": resolve(spec["task"])(ctx, *spec.get("args", []))}
    except Exception as exc:  # noqa: BLE001 (any failure ends the job with a message, not the worker)
        outcome = {"state": FAILED, "error": f"{type(exc).__name__}: {exc}"}
        traceback.print_exc()  # to the worker's log (stderr), never to the page
    send(END, outcome)


def prepare_worker(threads: int, imports: bool = True) -> None:
    """Once per worker process: import what jobs use and let each preloaded module warm up (its
    worker_setup(threads): torch's thread count and first-use imports). imports=False only sets up the modules
    already imported (a work-horse forked from a worker that preloaded them)."""
    for name in PRELOAD:
        if not imports and name not in sys.modules:
            continue
        setup = getattr(importlib.import_module(name), "worker_setup", None)
        if setup is not None:
            setup(threads)
