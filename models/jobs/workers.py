"""Where a job of models.jobs runs: the context it reports through, the wrapper that brackets it with STARTED and
END messages, and worker processes that never import the server's __main__."""

from __future__ import annotations

import multiprocessing.context
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STARTED, PROGRESS, END = "_started", "_progress", "_end"  # the pool's own message kinds


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


def run(ctx: JobContext, fn: Callable, args: tuple) -> tuple[str, Any, str | None]:
    """A job inside its worker: told apart from the queue by STARTED, ended by END after its last message."""
    if ctx._stop_flag():  # noqa: SLF001 (cancelled after the executor had already handed it to a worker)
        outcome = (CANCELLED, None, None)
    else:
        ctx.emit(STARTED)
        ctx.started = time.monotonic()
        try:
            outcome = (DONE, fn(ctx, *args), None)
        except Exception as exc:  # noqa: BLE001 (any failure ends the job with a message, not the worker)
            outcome = (FAILED, None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
    ctx.emit(END)
    return outcome


# --- in worker processes --------------------------------------------------------------------------------------
_WORKER: dict = {}
_SPAWN_LOCK = threading.Lock()


class WorkerProcess(multiprocessing.context.ForkServerProcess):
    """A worker that does not import the server's __main__. multiprocessing has each new process import the
    parent's main module, and Streamlit runs every page script as __main__: a worker started during a script run
    would run the whole app. The main module's name and path are left out of what the new process is told."""

    @staticmethod
    def _Popen(process_obj):
        from multiprocessing import spawn  # noqa: PLC0415

        with _SPAWN_LOCK:
            original = spawn.get_preparation_data

            def without_main(name):
                data = original(name)
                data.pop("init_main_from_path", None)
                data.pop("init_main_from_name", None)
                return data

            spawn.get_preparation_data = without_main
            try:
                return multiprocessing.context.ForkServerProcess._Popen(process_obj)
            finally:
                spawn.get_preparation_data = original


class WorkerContext(multiprocessing.context.ForkServerContext):
    Process = WorkerProcess


def init_process(messages, flags, setup: Callable | None, setup_args: tuple) -> None:
    # A worker exits when the pool shuts down; it must not wait for its last messages to be read (the server may
    # have stopped reading, and a full pipe would hold the worker, and the server's exit, for ever).
    messages.cancel_join_thread()
    _WORKER.update(messages=messages, flags=flags)
    if setup is not None:
        setup(*setup_args)


def warm() -> None:
    """Nothing: submitted once per worker to start it."""


def run_in_process(job_id: int, slot: int, time_cap: float | None, fn: Callable, args: tuple):
    messages, flags = _WORKER["messages"], _WORKER["flags"]
    ctx = JobContext(lambda kind, payload: messages.put((job_id, kind, payload)), lambda: flags[slot] != 0,
                     time_cap)
    return run(ctx, fn, args)
