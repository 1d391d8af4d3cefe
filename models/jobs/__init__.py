"""Long jobs (training runs) behind one small interface, with two backends:

- embedded (the default): jobs wait in the app server and each runs in a child process of it; no other service;
- Redis + RQ (AEX_QUEUE_URL=redis://host:port/db): every app server pointed at one Redis shares one queue, and
  any number of `python -m models.jobs.worker` processes, on any machines, train the runs.

Both give a Job with the same interface: submit, cancel, position, wait_estimate, counts, and each job's messages
through on_message / on_end. A job is a module-level function fn(ctx, *args) whose arguments and messages travel
as models.jobs.wire (never pickled). open_queue() picks the backend from the environment.
"""

from __future__ import annotations

import os

from models.jobs.base import (
    CANCELLED,
    DONE,
    END,
    FAILED,
    PROGRESS,
    QUEUE_LOST,
    QUEUED,
    RUNNING,
    STARTED,
    WORKER_STOPPED,
    Job,
    JobQueue,
    QueueFull,
    QueueUnavailable,
)
from models.jobs.runner import JobContext
from models.jobs.sizing import WORKERS_ENV, threads_per_worker, worker_count

QUEUE_ENV = "AEX_QUEUE_URL"  # redis://host:port/db: train through Redis + RQ
WORKER_MODULE = "models.jobs.worker"  # python -m models.jobs.worker: a worker for the Redis queue
KIND_ENV = "AEX_TRAIN_POOL"  # embedded only: "process" (default) or "thread"

__all__ = ["CANCELLED", "DONE", "END", "FAILED", "KIND_ENV", "PROGRESS", "QUEUED", "QUEUE_ENV", "QUEUE_LOST",
           "RUNNING", "STARTED", "WORKERS_ENV", "WORKER_MODULE", "WORKER_STOPPED", "Job", "JobContext", "JobQueue",
           "QueueFull", "QueueUnavailable", "open_queue"]


def open_queue(time_cap: float | None, seconds_per_work: float, environ: dict | None = None) -> JobQueue:
    """The queue the environment asks for: Redis when AEX_QUEUE_URL is set (QueueUnavailable if it cannot be
    reached), else the embedded one with AEX_TRAIN_WORKERS slots (default: the CPUs this container may use)."""
    env = os.environ if environ is None else environ
    url = env.get(QUEUE_ENV, "").strip()
    if url:
        from models.jobs.redis_queue import RedisQueue

        return RedisQueue(url, time_cap=time_cap, seconds_per_work=seconds_per_work)
    kind = env.get(KIND_ENV, "process").strip() or "process"
    if kind not in ("process", "thread"):
        raise ValueError(f"{KIND_ENV} must be process or thread, got {kind!r}")
    from models.jobs.embedded import EmbeddedQueue

    workers = worker_count(environ=env)
    return EmbeddedQueue(workers, kind, time_cap=time_cap, seconds_per_work=seconds_per_work,
                         threads=threads_per_worker(workers))
