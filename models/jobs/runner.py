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
from typing import Any

from models.jobs.base import CANCELLED, DONE, END, FAILED, PROGRESS, STARTED

TASK_PACKAGES = ("models.", "tests.")  # where a worker may look a job's function up
PRELOAD = ("models.training.job",)  # imported once per worker, so that a job starts without seconds of imports


class JobContext:
    """What a job sees while it runs: emit messages, report progress, ask whether to stop."""

    def __init__(self, send: Callable[[str, Any], None], stop_flag: Callable[[], bool], time_cap: float | None):
        self._send, self._stop_flag = send, stop_flag
        self.started = time.monotonic()
        self.time_cap = time_cap
        self.capped = False  # the job ran past its time cap
        self.cancelled = False  # someone asked it to stop

    def emit(self, kind: str, payload: Any = None) -> None:
        self._send(kind, payload)

    def progress(self, fraction: float) -> None:
        self._send(PROGRESS, float(fraction))

    def should_stop(self) -> bool:
        if self._stop_flag():
            self.cancelled = True
        elif self.time_cap is not None and time.monotonic() - self.started > self.time_cap:
            self.capped = True
        return self.cancelled or self.capped


def resolve(name: str) -> Callable:
    """The function a task names, from this project's packages only."""
    module, _, function = str(name).partition(":")
    if not module.startswith(TASK_PACKAGES) or not function.isidentifier():
        raise ValueError(f"a job may only run this project's functions, not {name!r}")
    return getattr(importlib.import_module(module), function)


def execute(spec: dict, send: Callable[[str, Any], None], stop_flag: Callable[[], bool]) -> None:
    """Run one job: STARTED (with this process's id), its own messages, then END with how it ended."""
    if stop_flag():  # cancelled while a worker was picking it up
        send(END, {"state": CANCELLED})
        return
    send(STARTED, {"pid": os.getpid()})
    ctx = JobContext(send, stop_flag, spec.get("time_cap"))
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
