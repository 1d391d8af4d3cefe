"""What every job backend shares: a Job as the app sees it, the states and message kinds, the context a job runs
with, and the bookkeeping of a queue (estimates learnt from finished jobs, how a job's messages and end are
handled). models/jobs/embedded.py and models/jobs/redis_queue.py are the two backends.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("autoencoder_explorer")
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STARTED, PROGRESS, PAUSED, END = "_started", "_progress", "_paused", "_end"  # the engine's own message kinds
WORKER_STOPPED = "the worker running your model stopped"
QUEUE_LOST = "the training queue stopped answering"


class QueueFull(Exception):
    """More jobs are waiting than the queue accepts, or this client already has its share."""


class QueueUnavailable(Exception):
    """The queue cannot be reached (Redis down or unreachable); the message is fit for the user."""


@dataclass(eq=False)
class Job:
    id: str
    owner: str  # who the job is for (a run's name): shown in logs
    client: str  # where it came from (a browser's address): the per-client cap counts these
    work: float  # the job's size in the caller's units; the queue learns seconds per unit from finished jobs
    expected: float  # seconds it should run, estimated when it was submitted
    on_message: Callable[[str, Any], None] | None = None  # called from a queue thread
    on_end: Callable[[Job], None] | None = None  # called from a queue thread once the job has ended
    state: str = QUEUED
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    ended: float | None = None
    progress: float = 0.0  # 0..1, as the job reports it
    result: Any = None
    error: str | None = None
    stop_requested: bool = False
    worker_pid: int | None = None  # the process that runs it, once it has started (tests kill it)
    paused: bool = False  # as its worker last said
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def runtime(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or time.monotonic()) - self.started

    @property
    def waited(self) -> float:
        return (self.started or self.ended or time.monotonic()) - self.submitted

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


def task_name(fn: Callable) -> str:
    """'module:function' for a module-level function: how a worker elsewhere finds it."""
    name = f"{fn.__module__}:{fn.__qualname__}"
    if "<" in name or "." in fn.__qualname__:
        raise ValueError(f"a job must be a module-level function, got {name}")
    return name


class JobQueue:
    """The interface the app uses, with the bookkeeping both backends share. Subclasses implement submit,
    cancel, position, counts, wait_estimate's inputs (_ahead_and_running) and shutdown."""

    workers: int = 1
    place: str = "this server"  # who trains the runs, in a sentence: "{place} trains N runs at a time"

    def __init__(self, time_cap: float | None, seconds_per_work: float, max_waiting: int, max_per_client: int):
        self.time_cap, self.max_waiting, self.max_per_client = time_cap, max_waiting, max_per_client
        self.seconds_per_work = seconds_per_work  # learnt from finished jobs (an average that favours recent ones)
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}  # this server's jobs that have not ended

    # --- estimates -----------------------------------------------------------------------------------------
    def expected_seconds(self, work: float) -> float:
        seconds = work * self.seconds_per_work
        return min(seconds, self.time_cap) if self.time_cap else seconds

    def remaining_seconds(self, job: Job) -> float:
        """How much longer a running job should take: from its progress once it has made some."""
        return self._remaining(job.runtime, job.progress, job.expected)

    def _remaining(self, elapsed: float, progress: float, expected: float) -> float:
        left = elapsed * (1 - progress) / progress if progress >= 0.05 else max(expected - elapsed, 0.0)
        return max(0.0, min(left, self.time_cap - elapsed) if self.time_cap else left)

    def wait_estimate(self, job: Job) -> float | None:
        """Seconds until a waiting job starts: the jobs ahead of it run on the free workers in turn."""
        known = self._ahead_and_running(job)
        if known is None:
            return None
        ahead, running = known  # expected seconds of each job ahead; seconds left of each running job
        workers = max(1, self.workers)
        free_at = sorted(running)[:workers]
        free_at += [0.0] * (workers - len(free_at))
        heapq.heapify(free_at)
        for expected in ahead:
            heapq.heappush(free_at, heapq.heappop(free_at) + expected)
        return free_at[0]

    def _ahead_and_running(self, job: Job) -> tuple[list[float], list[float]] | None:
        raise NotImplementedError

    # --- messages and endings ------------------------------------------------------------------------------
    def _check_client(self, client: str, active: int) -> None:
        if client and active >= self.max_per_client:
            raise QueueFull(f"your network address already has {active} runs waiting or training; wait for one "
                            f"to end (at most {self.max_per_client} at a time)")

    def _dispatch(self, job: Job, kind: str, payload: Any) -> dict | None:
        """Handle one message; returns END's outcome when the job has reported its end."""
        if job.finished:
            return None
        if kind == STARTED:
            with self._lock:
                job.state, job.started = RUNNING, time.monotonic()
                job.worker_pid = (payload or {}).get("pid")
        elif kind == PROGRESS:
            job.progress = min(max(float(payload), 0.0), 1.0)
        elif kind == PAUSED:
            job.paused = bool(payload)
        elif kind == END:
            return payload
        elif job.on_message is not None:
            job.on_message(kind, payload)
        return None

    def _finish(self, job: Job, state: str, result: Any = None, error: str | None = None) -> None:
        with self._lock:
            if job.finished or self._jobs.pop(job.id, None) is None:
                return
            job.state, job.result, job.ended = state, result, time.monotonic()
            job.error = error.splitlines()[0] if error else None
            if state == DONE and not job.stop_requested and job.runtime > 0.2 and job.work > 0:
                sample = job.runtime / (job.work * max(job.progress, 0.05))
                self.seconds_per_work += 0.3 * (sample - self.seconds_per_work)
        if error:
            LOG.warning("job %s of %s ended %s: %s", job.id, job.owner, state, error)
        try:
            if job.on_end is not None:
                job.on_end(job)
        except Exception:
            LOG.exception("a job's end could not be handled")
        finally:
            job._done.set()

    def _finish_from(self, job: Job, outcome: dict) -> None:
        """End a job as its worker said in END: {"state", "result"?, "error"?}."""
        state = outcome.get("state")
        if state not in (DONE, FAILED, CANCELLED):
            state, outcome = FAILED, {"error": f"a worker ended a job with state {state!r}"}
        self._finish(job, state, outcome.get("result"), outcome.get("error"))

    def problem(self) -> str | None:
        """Why jobs cannot be submitted now (for the page), or None."""
        return None
