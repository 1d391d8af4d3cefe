"""python -m models.jobs.worker: train the Redis queue's runs (AEX_QUEUE_URL=redis://host:port/db).

Start any number, on any machine with the project installed. Each process serves AEX_TRAIN_WORKERS runs at once
(default: the CPUs its container may use), as that many RQ workers, each with its share of the cores as torch
threads. An RQ worker forks a work-horse per run, so a run that is killed takes only itself down; the worker
marks it failed and takes the next one.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker

from models.jobs import QUEUE_ENV, WORKER_MODULE
from models.jobs.keys import QUEUE_NAME
from models.jobs.redis_queue import unreachable
from models.jobs.rq_task import THREADS_ENV
from models.jobs.runner import prepare_worker
from models.jobs.sizing import threads_per_worker, worker_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {WORKER_MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="runs at once (default: AEX_TRAIN_WORKERS or "
                                                                   "the CPUs this container may use)")
    parser.add_argument("--queue", default=QUEUE_NAME, help="the RQ queue's name")
    parser.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    parser.add_argument("--no-preload", action="store_true", help="do not import the training code first")
    args = parser.parse_args(argv)
    url = os.environ.get(QUEUE_ENV, "").strip()
    if not url:
        parser.error(f"set {QUEUE_ENV}=redis://host:port/db to the Redis that the app servers use")
    try:
        workers = args.workers or worker_count()
    except ValueError as exc:
        parser.error(str(exc))
    redis = Redis.from_url(url, socket_connect_timeout=5)
    try:
        redis.ping()
    except RedisError:
        print(f"models.jobs.worker: {unreachable(url)}", file=sys.stderr)
        return 2
    if workers > 1:
        return _several(workers, argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(levelname)s %(message)s")
    os.environ.setdefault(THREADS_ENV, str(threads_per_worker(1)))
    if not args.no_preload:
        # Imports and warm-up with one thread: a work-horse is forked from this process, and a fork must not
        # inherit a running OpenMP thread pool. Each horse sets its own thread count.
        prepare_worker(1)
    worker = Worker([args.queue], connection=redis)
    worker.work(burst=args.burst, logging_level="INFO")
    return 0


def _several(workers: int, argv: list[str]) -> int:
    """`workers` single workers as child processes, stopped together."""
    rest = [a for i, a in enumerate(argv) if a != "--workers" and (i == 0 or argv[i - 1] != "--workers")
            and not a.startswith("--workers=")]
    env = {**os.environ, THREADS_ENV: str(threads_per_worker(workers))}
    children = [subprocess.Popen([sys.executable, "-m", WORKER_MODULE, "--workers", "1", *rest], env=env)
                for _ in range(workers)]

    def forward(signum, _frame):
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


if __name__ == "__main__":
    sys.exit(main())
