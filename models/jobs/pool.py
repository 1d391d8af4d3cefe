"""A server-wide pool for long jobs (training runs), on the standard library's concurrent.futures.

At most `workers` jobs run at once; the others wait in the executor's own queue, in the order they came. A job is
a plain function `fn(ctx, *args)`: it reports through ctx.emit(kind, payload) while it runs, says how far it got
with ctx.progress(fraction), and asks ctx.should_stop() often (a cancel, or its time cap). The pool gives each
waiting job its position and an estimate of its wait, learnt from how long finished jobs took.

Workers are processes (the default) or threads:
- processes: each worker is its own Python, so a training step's Python code never holds the web server's GIL,
  and torch's thread count is set per worker. Messages come back through one multiprocessing queue that a
  listener thread hands to each job. Workers fork from a forkserver that imported the job's modules once.
- threads: nothing to start or copy, but jobs share the server's GIL and torch's process-wide thread count.

pool_settings() reads both choices from the environment, in one place.
"""

from __future__ import annotations

import heapq
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from models.jobs.workers import (  # noqa: F401
    CANCELLED,
    DONE,
    END,
    FAILED,
    PROGRESS,
    QUEUED,
    RUNNING,
    STARTED,
    JobContext,
    WorkerContext,
    init_process,
    run,
    run_in_process,
    warm,
)

LOG = logging.getLogger("autoencoder_explorer")
WORKERS_ENV, KIND_ENV = "AEX_TRAIN_WORKERS", "AEX_TRAIN_POOL"


def pool_settings() -> tuple[int, str]:
    """(workers, kind): one job per CPU core in worker processes, unless the environment says otherwise."""
    workers = os.environ.get(WORKERS_ENV, "").strip()
    kind = os.environ.get(KIND_ENV, "process").strip() or "process"
    if kind not in ("process", "thread"):
        raise ValueError(f"{KIND_ENV} must be process or thread, got {kind!r}")
    return (max(1, int(workers)) if workers else max(1, os.cpu_count() or 1)), kind


class PoolFull(Exception):
    """More jobs are waiting than the pool accepts."""


@dataclass(eq=False)
class Job:
    id: int
    owner: str
    work: float  # the job's size in the caller's units; the pool learns seconds per unit from finished jobs
    expected: float  # seconds it should run, estimated when it was submitted
    on_message: Callable[[str, Any], None] | None = None  # called from a pool thread
    on_end: Callable[["Job"], None] | None = None  # called from a pool thread once the job has ended
    state: str = QUEUED
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    ended: float | None = None
    progress: float = 0.0  # 0..1, as the job reports it
    result: Any = None
    error: str | None = None
    stop_requested: bool = False
    _slot: int = -1
    _generation: int = 0
    _released: bool = False  # its stop-flag slot is free for another job
    _future: Future | None = None
    _outcome: tuple | None = None  # (state, result, error) from the worker
    _end_seen: bool = False
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


class JobPool:
    """submit() returns a Job at once; the job runs when a worker is free. See the module's docstring."""

    def __init__(self, workers: int, kind: str = "process", time_cap: float | None = None,
                 seconds_per_work: float = 1.0, max_waiting: int = 200, setup: Callable | None = None,
                 setup_args: tuple = (), preload: tuple[str, ...] = ()):
        if kind not in ("process", "thread"):
            raise ValueError(f"kind must be process or thread, got {kind!r}")
        self.workers, self.kind, self.time_cap, self.max_waiting = workers, kind, time_cap, max_waiting
        self.seconds_per_work = seconds_per_work  # learnt from finished jobs (an average that favours recent ones)
        self._setup, self._setup_args, self._preload = setup, setup_args, preload
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}  # not yet ended
        self._next_id = 1
        slots = max_waiting + workers
        self._free_slots = list(range(slots))
        if kind == "process":
            self._mp = WorkerContext()
            self._flags = self._mp.Array("b", slots, lock=False)
            self._messages = self._mp.Queue()
            self._messages.cancel_join_thread()  # exiting never waits on this queue (workers.init_process)
            self._closed = threading.Event()
            self._listener = threading.Thread(target=self._listen, name="aex-jobs-listener", daemon=True)
            self._listener.start()
        else:
            self._flags = bytearray(slots)
        self._executor = self._new_executor()
        self._generation = 0  # bumped each time a broken executor is replaced
        _register_exit(self)

    def _new_executor(self) -> Executor:
        if self.kind == "thread":
            if self._setup is not None:
                self._setup(*self._setup_args)
            return ThreadPoolExecutor(self.workers, thread_name_prefix="aex-job")
        if self._preload:
            self._mp.set_forkserver_preload(list(self._preload))
        executor = ProcessPoolExecutor(self.workers, mp_context=self._mp, initializer=init_process,
                                       initargs=(self._messages, self._flags, self._setup, self._setup_args))
        # Start the workers now, in the background (the forkserver imports the preloaded modules first: seconds),
        # so that the first job does not wait for them; each submit starts one worker while none is idle.
        threading.Thread(target=lambda: [executor.submit(warm) for _ in range(self.workers)], daemon=True).start()
        return executor

    # --- submitting and cancelling ----------------------------------------------------------------------------
    def submit(self, fn: Callable, *args, owner: str = "", work: float = 1.0,
               on_message: Callable[[str, Any], None] | None = None,
               on_end: Callable[[Job], None] | None = None) -> Job:
        """Queue fn(ctx, *args). In process mode fn and args must pickle (a module-level function)."""
        with self._lock:
            waiting = sum(job.state == QUEUED for job in self._jobs.values())
            if waiting >= self.max_waiting or not self._free_slots:
                raise PoolFull(f"{waiting} jobs are already waiting")
            job = Job(id=self._next_id, owner=owner, work=work, expected=self.expected_seconds(work),
                      on_message=on_message, on_end=on_end)
            self._next_id += 1
            job._slot, job._generation = self._free_slots.pop(), self._generation
            self._flags[job._slot] = 0
            self._jobs[job.id] = job
        try:
            if self.kind == "thread":
                ctx = JobContext(lambda kind, payload: self._dispatch(job.id, kind, payload),
                                 lambda: self._flags[job._slot] != 0, self.time_cap)
                future = self._executor.submit(run, ctx, fn, args)
            else:
                future = self._executor.submit(run_in_process, job.id, job._slot, self.time_cap, fn, args)
        except Exception as exc:  # noqa: BLE001 (a broken pool: start a new one for the next job)
            with self._lock:
                self._generation += 1
                self._executor = self._new_executor()
            self._finish(job, FAILED, None, f"the job could not start ({type(exc).__name__}: {exc})")
            return job
        job._future = future
        future.add_done_callback(lambda f, job=job: self._future_done(job, f))
        return job

    def cancel(self, job: Job) -> None:
        """A waiting job leaves the queue; a running one is asked to stop (it ends after its current step)."""
        with self._lock:
            job.stop_requested = True
            if job.id not in self._jobs:  # ended: its slot may be another job's by now
                return
            self._flags[job._slot] = 1
        if job._future is None or job._future.cancel():  # the executor had not handed it to a worker yet
            return
        if job.state == QUEUED:  # handed over but not started: its worker will see the flag and skip it
            self._finish(job, CANCELLED, None, None)

    # --- what the pages show ---------------------------------------------------------------------------------
    def position(self, job: Job) -> int | None:
        """1 for the next job to start, 2 for the one after…; None once it runs or has ended."""
        with self._lock:
            if job.state != QUEUED or job.finished or job.stop_requested:
                return None
            return 1 + sum(other.state == QUEUED and not other.stop_requested and other.id < job.id
                           for other in self._jobs.values())

    def counts(self) -> tuple[int, int]:
        """(running, waiting)."""
        with self._lock:
            jobs = list(self._jobs.values())
        return (sum(j.state == RUNNING for j in jobs), sum(j.state == QUEUED and not j.stop_requested for j in jobs))

    def expected_seconds(self, work: float) -> float:
        seconds = work * self.seconds_per_work
        return min(seconds, self.time_cap) if self.time_cap else seconds

    def remaining_seconds(self, job: Job) -> float:
        """How much longer a running job should take: from its progress once it has made some."""
        elapsed = job.runtime
        if job.progress >= 0.05:
            left = elapsed * (1 - job.progress) / job.progress
        else:
            left = max(job.expected - elapsed, 0.0)
        return max(0.0, min(left, self.time_cap - elapsed) if self.time_cap else left)

    def wait_estimate(self, job: Job) -> float | None:
        """Seconds until a waiting job starts: the jobs ahead of it run on the free workers in turn."""
        with self._lock:
            if job.state != QUEUED or job.finished or job.stop_requested:
                return None
            running = [j for j in self._jobs.values() if j.state == RUNNING]
            ahead = sorted((j for j in self._jobs.values()
                            if j.state == QUEUED and not j.stop_requested and j.id < job.id), key=lambda j: j.id)
        free_at = sorted(self.remaining_seconds(j) for j in running)[:self.workers]
        free_at += [0.0] * (self.workers - len(free_at))
        heapq.heapify(free_at)
        for other in ahead:
            heapq.heappush(free_at, heapq.heappop(free_at) + other.expected)
        return free_at[0]

    # --- messages and endings ----------------------------------------------------------------------------------
    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                item = self._messages.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._dispatch(*item)
            except Exception:  # noqa: BLE001 (one job's bad message must not stop every job's messages)
                LOG.exception("a job's message could not be handled")

    def _dispatch(self, job_id: int, kind: str, payload: Any) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.finished:
            return
        if kind == STARTED:
            with self._lock:
                job.state, job.started = RUNNING, time.monotonic()
        elif kind == PROGRESS:
            job.progress = min(max(payload, 0.0), 1.0)
        elif kind == END:
            job._end_seen = True
            self._maybe_finish(job)
        elif job.on_message is not None:
            job.on_message(kind, payload)

    def _release(self, job: Job) -> None:
        """Give the job's stop-flag slot back (under the lock), once."""
        if not job._released:
            job._released = True
            self._free_slots.append(job._slot)

    def _future_done(self, job: Job, future: Future) -> None:
        if job.finished:  # a cancel ended it for the user before its worker had skipped it
            with self._lock:
                self._release(job)
            return
        if future.cancelled():
            self._finish(job, CANCELLED, None, None)
            return
        error = future.exception()
        if error is not None:  # the worker itself failed (a killed process breaks the whole executor)
            with self._lock:  # every job of a broken executor lands here: replace it once
                if "Broken" in type(error).__name__ and job._generation == self._generation:
                    self._generation += 1
                    self._executor = self._new_executor()
            self._finish(job, FAILED, None, f"the worker running it stopped ({type(error).__name__}: {error})")
            return
        job._outcome = future.result()
        self._maybe_finish(job)

    def _maybe_finish(self, job: Job) -> None:
        """A job ends when the worker returned and its last message (END) has been handled, in either order."""
        if job._outcome is not None and job._end_seen:
            self._finish(job, *job._outcome)

    def _finish(self, job: Job, state: str, result: Any, error: str | None) -> None:
        with self._lock:
            if job.finished or self._jobs.pop(job.id, None) is None:
                return
            job.state, job.result, job.ended = state, result, time.monotonic()
            job.error = error.splitlines()[0] if error else None
            if job._future is None or job._future.done():
                self._release(job)  # else when its worker hands it back: the flag must stay set until then
            if state == DONE and not job.stop_requested and job.runtime > 0.2 and job.work > 0:
                sample = job.runtime / (job.work * max(job.progress, 0.05))
                self.seconds_per_work += 0.3 * (sample - self.seconds_per_work)
        if error:
            LOG.warning("job %s of %s failed: %s", job.id, job.owner, error)
        try:
            if job.on_end is not None:
                job.on_end(job)
        except Exception:  # noqa: BLE001
            LOG.exception("a job's end could not be handled")
        finally:
            job._done.set()

    def shutdown(self, wait: bool = True) -> None:
        """Stop every job (running ones end after their current step) and the workers."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            self.cancel(job)
        self._executor.shutdown(wait=wait, cancel_futures=True)
        if self.kind == "process" and wait:  # else the listener (a daemon) reads on while the workers stop
            self._closed.set()
            self._listener.join(timeout=1)


def _register_exit(pool: JobPool) -> None:
    """Stop the pool's jobs when the server exits: concurrent.futures joins its workers at exit, so a running job
    would hold the server's shutdown until it ended. threading's exit hooks run in reverse order of
    registration, so this one runs before concurrent.futures' own (registered when it was imported)."""
    try:
        threading._register_atexit(lambda: pool.shutdown(wait=False))  # noqa: SLF001
    except (AttributeError, RuntimeError):  # another Python, or the interpreter is already exiting
        pass
