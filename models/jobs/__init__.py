"""Long jobs (training runs) behind one small interface: submit, cancel, position, wait estimate, and each job's
messages. pool.py is the server-wide pool; workers.py is what runs inside a worker."""

from models.jobs.pool import Job, JobPool, PoolFull, pool_settings
from models.jobs.workers import CANCELLED, DONE, END, FAILED, PROGRESS, QUEUED, RUNNING, STARTED, JobContext

# The Redis-backed engine's names, shared by the app, the workers, compose.yaml and docs/deploy.md.
QUEUE_ENV = "AEX_QUEUE_URL"  # redis://host:port/db switches the app to the Redis queue; unset: embedded
WORKER_MODULE = "models.jobs.worker"  # `python -m models.jobs.worker`: one worker, any machine, any number
WORKERS_ENV = "AEX_TRAIN_WORKERS"  # runs one server or worker trains at once (default: its CPU quota)

__all__ = ["CANCELLED", "DONE", "END", "FAILED", "PROGRESS", "QUEUED", "RUNNING", "STARTED", "Job", "JobContext",
           "JobPool", "PoolFull", "pool_settings"]
