"""What an RQ work-horse runs for one job (python -m models.jobs.worker starts the workers): read the job's spec
from Redis, keep a heartbeat while it runs, send its messages to the job's Redis stream as models.jobs.wire
bytes, and look for a stop request. RQ hands this function only the queue's name and the job's id."""

from __future__ import annotations

import os
import threading
import time

from rq import get_current_job

from models.jobs import wire
from models.jobs.base import PROGRESS
from models.jobs.keys import ALIVE_EVERY, ALIVE_TTL, MAX_STREAM, TTL, Keys
from models.jobs.runner import Control, execute, prepare_worker

THREADS_ENV = "AEX_TORCH_THREADS"  # set by models.jobs.worker: this worker's share of the machine's cores
STOP_CHECK_SECONDS = 0.2
CONTROL_SECONDS = 0.05  # control lines are read this often (a step while paused waits at most this)
PROGRESS_SECONDS = 0.2  # progress goes to the stream at most this often (a step may take a millisecond)


def perform(queue: str, jid: str) -> None:
    redis = get_current_job().connection
    keys = Keys(queue)
    data = redis.get(keys.spec(jid))
    if data is None:
        raise RuntimeError(f"job {jid} has no spec in Redis (expired?)")
    prepare_worker(int(os.environ.get(THREADS_ENV, "1")), imports=False)
    progress, done = [0.0], threading.Event()

    def beat() -> None:
        while True:
            pipe = redis.pipeline()
            pipe.set(keys.alive(jid), 1, ex=ALIVE_TTL)
            pipe.hset(keys.info(jid), "progress", progress[0])
            pipe.execute()
            if done.wait(ALIVE_EVERY):
                return

    redis.set(keys.alive(jid), 1, ex=ALIVE_TTL)
    redis.sadd(keys.running, jid)
    redis.hset(keys.info(jid), mapping={"state": "running", "started": time.time()})
    threading.Thread(target=beat, daemon=True).start()
    threading.Thread(target=_orphan_watch, args=(os.getppid(),), daemon=True).start()
    stream, checked, stopped, told = keys.messages(jid), [0.0], [False], [0.0]

    def send(kind: str, payload) -> None:
        if kind == PROGRESS:
            progress[0] = float(payload)  # the heartbeat carries it to every server
            if time.monotonic() - told[0] < PROGRESS_SECONDS:
                return
            told[0] = time.monotonic()
        redis.xadd(stream, {"m": wire.dumps([kind, payload])}, maxlen=MAX_STREAM, approximate=True)

    def stop_flag() -> bool:
        if not stopped[0] and time.monotonic() - checked[0] >= STOP_CHECK_SECONDS:
            checked[0] = time.monotonic()
            stopped[0] = bool(redis.exists(keys.stop(jid)))
        return stopped[0]

    control, read, polled = Control(), [0], [0.0]

    def current() -> Control:
        if time.monotonic() - polled[0] >= CONTROL_SECONDS:
            polled[0] = time.monotonic()
            for line in redis.lrange(keys.control(jid), read[0], -1):
                control.apply(line.decode(errors="replace"))
                read[0] += 1
        return control

    try:
        execute(wire.loads(data), send, stop_flag, current)
    finally:
        done.set()
        pipe = redis.pipeline()
        pipe.delete(keys.alive(jid), keys.spec(jid))
        pipe.srem(keys.running, jid)
        pipe.hset(keys.info(jid), "state", "ended")
        pipe.expire(stream, TTL)
        pipe.execute()


def _orphan_watch(worker_pid: int) -> None:
    """RQ puts each work-horse in its own process group, so killing a worker's group leaves its horse running
    with nobody to report its end. A horse whose worker has gone exits at once; its heartbeat lapses and the app
    says the worker stopped."""
    while os.getppid() == worker_pid:
        time.sleep(0.5)
    os._exit(70)
