"""Long jobs (training runs) behind one small interface: submit, cancel, position, wait estimate, and each job's
messages. pool.py is the server-wide pool; workers.py is what runs inside a worker."""

from models.jobs.pool import Job, JobPool, PoolFull, pool_settings
from models.jobs.workers import CANCELLED, DONE, END, FAILED, PROGRESS, QUEUED, RUNNING, STARTED, JobContext

__all__ = ["CANCELLED", "DONE", "END", "FAILED", "PROGRESS", "QUEUED", "RUNNING", "STARTED", "Job", "JobContext",
           "JobPool", "PoolFull", "pool_settings"]
