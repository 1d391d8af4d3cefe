"""What only the Redis backend promises: several app servers share one queue; a worker killed with its whole
process group (a crashed machine) fails its job within 30 s and a new worker takes the next; an unreachable or
vanished Redis gives a clear message, never a traceback, and never the password in the URL."""

from __future__ import annotations

import time
import uuid

import pytest

from benchmarks.services import kill_group, redis_server, start_worker
from models.jobs import (
    DONE,
    FAILED,
    QUEUE_LOST,
    RUNNING,
    WORKER_STOPPED,
    QueueUnavailable,
    open_queue,
)
from models.jobs.keys import ALIVE_TTL
from models.jobs.redis_queue import RedisQueue
from tests import job_tasks as tasks
from tests.unit.test_jobs import wait_for

pytestmark = pytest.mark.slow  # a Redis server and worker processes per test: the whole suite runs them


def test_two_servers_share_one_queue_positions_estimates_and_cancel():
    with redis_server() as url:
        name = f"t-{uuid.uuid4().hex[:8]}"
        one, two = RedisQueue(url, queue=name, seconds_per_work=1.0), RedisQueue(url, queue=name)
        worker = start_worker(url, queue=name, preload=False)
        try:
            running = one.submit(tasks.until_stopped, work=3.0)
            wait_for(lambda: running.state == RUNNING)
            mine = one.submit(tasks.sleeper, 0.05, "one's", work=2.0)
            theirs = two.submit(tasks.sleeper, 0.05, "two's", work=2.0)
            assert (one.position(mine), two.position(theirs)) == (1, 2)
            assert two.counts() == (1, 2) == one.counts()
            # Server two's estimate counts server one's running job (3 s expected) and waiting one (2 s).
            assert two.wait_estimate(theirs) == pytest.approx(3.0 - running.runtime + 2.0, abs=0.6)
            two.cancel(theirs)
            assert theirs.wait(10) and theirs.state == "cancelled" and one.position(mine) == 1
            one.cancel(running)
            assert mine.wait(60) and mine.state == DONE
        finally:
            kill_group(worker)
            one.shutdown()
            two.shutdown()


def test_a_worker_killed_with_its_process_group_fails_its_job_in_time_and_a_new_worker_takes_the_next():
    with redis_server() as url:
        name = f"t-{uuid.uuid4().hex[:8]}"
        queue = RedisQueue(url, queue=name)
        worker = start_worker(url, queue=name, preload=False)
        try:
            job = queue.submit(tasks.until_stopped)
            nxt = queue.submit(tasks.sleeper, 0.05, "next")
            wait_for(lambda: job.state == RUNNING)
            kill_group(worker)  # the worker and its work-horse's parent: nobody is left to tell RQ
            killed = time.monotonic()
            assert job.wait(30) and job.state == FAILED and job.error == WORKER_STOPPED
            assert time.monotonic() - killed <= ALIVE_TTL + 3  # the heartbeat lapsed: well within 30 s
            assert queue.position(nxt) == 1
            worker = start_worker(url, queue=name, preload=False)
            assert nxt.wait(60) and nxt.state == DONE and nxt.result == "next"
        finally:
            kill_group(worker)
            queue.shutdown()


def test_an_unreachable_redis_is_a_clear_message_without_the_password():
    with redis_server() as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(QueueUnavailable) as caught:  # the server has stopped: nothing listens there now
        open_queue(time_cap=None, seconds_per_work=1.0,
                   environ={"AEX_QUEUE_URL": f"redis://:s3cret@127.0.0.1:{port}/0"})
    assert str(caught.value) == f"the training queue (Redis at 127.0.0.1:{port}) cannot be reached"


def test_redis_gone_mid_run_ends_this_servers_jobs_with_a_message_and_submit_says_so():
    with redis_server() as url:
        name = f"t-{uuid.uuid4().hex[:8]}"
        queue = RedisQueue(url, queue=name, lost_after=2.0)
        worker = start_worker(url, queue=name, preload=False)
        job = queue.submit(tasks.until_stopped)
        wait_for(lambda: job.state == RUNNING)
    try:  # redis-server has been stopped
        assert job.wait(30) and job.state == FAILED and job.error == QUEUE_LOST
        with pytest.raises(QueueUnavailable, match="cannot be reached"):
            queue.submit(tasks.sleeper, 0.01, "x")
        assert queue.problem() is not None
    finally:
        kill_group(worker)
        queue.shutdown()


def test_the_worker_command_says_what_is_missing_or_unreachable():
    import os
    import subprocess
    import sys

    from benchmarks.harness import free_port
    from tests import ROOT

    env = {k: v for k, v in os.environ.items() if k != "AEX_QUEUE_URL"}
    command = [sys.executable, "-m", "models.jobs.worker", "--no-preload"]
    missing = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "set AEX_QUEUE_URL=redis://host:port/db" in missing.stderr
    port = free_port()
    away = subprocess.run(command, cwd=ROOT, env={**env, "AEX_QUEUE_URL": f"redis://:pw@127.0.0.1:{port}/0"},
                          capture_output=True, text=True, timeout=60)
    assert away.returncode == 2 and away.stderr.strip() == (
        f"models.jobs.worker: the training queue (Redis at 127.0.0.1:{port}) cannot be reached")
