"""The job engine's contract (models/jobs/), run against every backend: the embedded queue with jobs in child
processes (the default) and in threads, and Redis + RQ with real `python -m models.jobs.worker` processes on a
redis-server of the test's own. Order, positions, cancel (waiting and running), time cap, a job that raises, a
worker SIGKILLed mid-message while others wait (only its job fails; the queue drains), a cancelled job's worker
taking the next job, a per-client cap."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid

import numpy as np
import pytest

from benchmarks.services import redis_server, workers
from models.jobs import CANCELLED, DONE, FAILED, RUNNING, WORKER_STOPPED, QueueFull
from models.jobs.embedded import EmbeddedQueue
from tests import job_tasks as tasks

# Worker processes and a Redis server take seconds to start: those backends run in the whole suite (marker slow);
# the fast tier keeps the thread backend, which runs the same contract.
PROCESS = pytest.param("process", marks=pytest.mark.slow)
REDIS = pytest.param("redis", marks=pytest.mark.slow)
BACKENDS = [PROCESS, "thread", REDIS]


class Recorder:
    def __init__(self):
        self.messages: list[tuple] = []

    def __call__(self, kind, payload):
        self.messages.append((kind, payload, time.monotonic()))

    def of(self, kind):
        return [payload for k, payload, _ in self.messages if k == kind]


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def make_queue(request):
    """make_queue(backend, workers, **options) → a queue with that many workers, shut down after the test."""
    stack = contextlib.ExitStack()

    def make(backend: str, count: int, **options):
        if backend == "redis":
            from models.jobs.redis_queue import RedisQueue

            url, name = request.getfixturevalue("redis_url"), f"test-{uuid.uuid4().hex[:8]}"
            stack.enter_context(workers(url, count, queue=name, preload=False))
            queue = RedisQueue(url, queue=name, **options)
            deadline = time.monotonic() + 60
            while queue.workers < count and time.monotonic() < deadline:  # every worker registered
                time.sleep(0.1)
        else:
            queue = EmbeddedQueue(count, backend, preload=False, **options)
        stack.callback(queue.shutdown)
        return queue

    with stack:
        yield make


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.mark.parametrize("backend", BACKENDS)
def test_at_most_n_jobs_run_at_once_and_each_returns_its_result(make_queue, backend):
    queue = make_queue(backend, 2)
    jobs = [queue.submit(tasks.sleeper, 0.6, str(i)) for i in range(5)]
    assert all(job.wait(60) for job in jobs)
    assert [job.state for job in jobs] == [DONE] * 5 and [job.result for job in jobs] == list("01234")
    spans = [(job.started, job.ended) for job in jobs]
    overlap = max(sum(s <= start < e for s, e in spans) for start, _ in spans)
    assert overlap == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_waiting_jobs_keep_their_order_show_positions_and_can_be_cancelled(make_queue, backend):
    queue = make_queue(backend, 1, seconds_per_work=1.0)
    record = Recorder()
    blocker = queue.submit(tasks.until_stopped, work=5.0)
    wait_for(lambda: blocker.state == RUNNING)
    waiting = [queue.submit(tasks.sleeper, 0.05, tag, on_message=record, work=2.0) for tag in "abcd"]
    assert [queue.position(job) for job in waiting] == [1, 2, 3, 4]
    waits = [queue.wait_estimate(job) for job in waiting]
    # The blocker reports no progress: it has its expected 5 s minus what it ran; each job ahead adds its 2 s.
    assert waits[0] == pytest.approx(5.0 - blocker.runtime, abs=0.5)
    assert np.diff(waits) == pytest.approx([2.0, 2.0, 2.0], abs=0.05)
    assert queue.counts() == (1, 4)
    queue.cancel(waiting[1])  # "b" leaves the queue: the ones behind it move up
    assert waiting[1].wait(10) and waiting[1].state == CANCELLED and waiting[1].started is None
    assert [queue.position(job) for job in (waiting[0], waiting[2], waiting[3])] == [1, 2, 3]
    assert queue.position(waiting[1]) is None
    queue.cancel(blocker)  # a running job ends after its current step, with its own result
    assert all(job.wait(60) for job in [blocker, *waiting])
    assert blocker.state == DONE and blocker.result == {"cancelled": True, "capped": False}
    order = [payload["tag"] for payload in record.of("tick")]
    assert [t for i, t in enumerate(order) if i == 0 or order[i - 1] != t] == ["a", "c", "d"]  # b never ran
    assert queue.position(waiting[0]) is None and queue.wait_estimate(waiting[0]) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_job_that_raises_ends_with_its_message_and_the_queue_goes_on(make_queue, backend):
    queue = make_queue(backend, 1)
    record = Recorder()
    job = queue.submit(tasks.raiser, "boom", on_message=record)
    assert job.wait(60)
    assert job.state == FAILED and job.error == "RuntimeError: boom"
    assert record.of("tick") == [{"tag": "before"}]  # its messages before the failure all arrived
    after = queue.submit(tasks.sleeper, 0.01, "next")
    assert after.wait(60) and after.state == DONE and after.result == "next"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_job_stops_at_its_time_cap(make_queue, backend):
    queue = make_queue(backend, 1, time_cap=0.5)
    job = queue.submit(tasks.until_stopped)
    assert job.wait(60)
    assert job.state == DONE and job.result == {"cancelled": False, "capped": True}


@pytest.mark.parametrize("backend", [PROCESS, REDIS])
def test_a_worker_killed_mid_message_fails_only_its_job_and_the_queue_drains(make_queue, backend):
    """Two workers, one job sending 2 MB messages and one sleeping; three wait. The chatty job's worker is
    SIGKILLed while it writes: that job fails with the engine's words, the rest run, and the slot is reused."""
    queue = make_queue(backend, 2)
    record = Recorder()
    chatty = queue.submit(tasks.chatty, 2_000_000, 30.0, on_message=record)
    other = queue.submit(tasks.sleeper, 1.5, "other")
    waiting = [queue.submit(tasks.sleeper, 0.2, f"w{i}") for i in range(3)]
    wait_for(lambda: len(record.of("block")) >= 3)
    os.kill(chatty.worker_pid, signal.SIGKILL)
    assert chatty.wait(30) and chatty.state == FAILED and chatty.error == WORKER_STOPPED
    assert all(block["sum"] == sum(range(256)) * (2_000_000 // 256) + sum(range(2_000_000 % 256))
               for block in record.of("block"))  # every message that arrived arrived whole
    assert all(job.wait(60) for job in [other, *waiting])
    assert [job.state for job in [other, *waiting]] == [DONE] * 4
    again = queue.submit(tasks.sleeper, 0.01, "again")
    assert again.wait(60) and again.state == DONE


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cancelled_running_job_frees_its_worker_for_the_next(make_queue, backend):
    queue = make_queue(backend, 1)
    first = queue.submit(tasks.until_stopped)
    second = queue.submit(tasks.sleeper, 0.05, "second")
    wait_for(lambda: first.state == RUNNING)
    assert queue.position(second) == 1
    queue.cancel(first)
    assert second.wait(60) and second.state == DONE and second.result == "second"
    assert first.state == DONE and first.result["cancelled"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_client_address_has_a_cap_and_a_finished_run_frees_its_place(make_queue, backend):
    queue = make_queue(backend, 1, max_per_client=2)
    mine = [queue.submit(tasks.until_stopped, client="10.0.0.7") for _ in range(2)]
    with pytest.raises(QueueFull, match="at most 2 at a time"):
        queue.submit(tasks.sleeper, 0.01, "third", client="10.0.0.7")
    theirs = queue.submit(tasks.sleeper, 0.01, "theirs", client="10.0.0.8")  # another address is not held up
    for job in mine:
        queue.cancel(job)
    assert all(job.wait(60) for job in [*mine, theirs])
    later = queue.submit(tasks.sleeper, 0.01, "later", client="10.0.0.7")
    assert later.wait(60) and later.state == DONE


def test_the_queue_learns_seconds_per_unit_of_work_from_finished_jobs(make_queue):
    queue = make_queue("thread", 1, seconds_per_work=1.0)
    job = queue.submit(tasks.until_stopped, work=10.0)
    wait_for(lambda: job.state == RUNNING)
    time.sleep(0.5)
    job.progress = 0.5  # as if it had reported half of its work done
    assert queue.remaining_seconds(job) == pytest.approx(job.runtime, rel=0.05)
    queue.cancel(job)
    assert job.wait(60)
    assert queue.seconds_per_work == 1.0  # a stopped job says nothing about the rate
    done = queue.submit(tasks.sleeper, 0.5, "y", work=0.25)
    assert done.wait(60)
    rate = done.runtime / (0.25 * max(done.progress, 0.05))
    assert queue.seconds_per_work == pytest.approx(1.0 + 0.3 * (rate - 1.0))
    assert queue.expected_seconds(2.0) == pytest.approx(2 * queue.seconds_per_work)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pause_one_step_resume_and_a_delay_per_step(make_queue, backend):
    queue = make_queue(backend, 1)
    record = Recorder()
    job = queue.submit(tasks.stepper, 10_000, 0.005, on_message=record)
    wait_for(lambda: len(record.of("step")) >= 3)
    queue.control(job, paused=True)
    wait_for(lambda: job.paused)
    paused_at = len(record.of("step"))
    time.sleep(0.5)
    assert len(record.of("step")) == paused_at  # nothing moves while paused
    queue.control(job, step=True)
    wait_for(lambda: len(record.of("step")) == paused_at + 1)
    time.sleep(0.4)
    assert len(record.of("step")) == paused_at + 1 and job.paused  # exactly one step, then paused again
    queue.control(job, step=True)
    queue.control(job, step=True)
    wait_for(lambda: len(record.of("step")) == paused_at + 3)
    time.sleep(0.4)
    assert len(record.of("step")) == paused_at + 3
    queue.control(job, paused=False, delay=0.15)  # resume, slowed down for a class to watch
    wait_for(lambda: not job.paused and len(record.of("step")) >= paused_at + 6)
    times = [t for k, _, t in record.messages if k == "step"][-3:]
    assert min(np.diff(times)) >= 0.12
    queue.control(job, delay=0)
    wait_for(lambda: len(record.of("step")) >= paused_at + 40)  # real time again
    queue.cancel(job)
    assert job.wait(60) and job.state == DONE and job.result["cancelled"]
    assert record.of("step") == list(range(1, job.result["steps"] + 1))  # every step once, in order


@pytest.mark.parametrize("backend", ["thread", PROCESS])
def test_time_spent_paused_does_not_count_against_the_time_cap(make_queue, backend):
    queue = make_queue(backend, 1, time_cap=1.0)
    record = Recorder()
    job = queue.submit(tasks.stepper, 10_000, 0.01, on_message=record)
    queue.control(job, paused=True)  # asked while it waits: it pauses after its first step
    wait_for(lambda: job.paused)
    time.sleep(1.5)  # longer than the cap
    assert not job.finished
    queue.control(job, paused=False)
    assert job.wait(60) and job.result["capped"] and job.runtime >= 2.0
    assert job.result["steps"] >= 40  # it trained about a second after the pause
