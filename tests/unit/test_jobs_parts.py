"""The job engine's parts: the wire format (no pickle, bad bytes refused), worker sizing from the container's CPU
quota, and what only the embedded queue does (a fresh Python per job that never runs the page script, shutdown
while a job floods its pipe, messages that cannot travel)."""

from __future__ import annotations

import pickle
import sys
import threading
import time
import types

import numpy as np
import pytest

from models.jobs import FAILED, RUNNING, wire
from models.jobs.embedded import EmbeddedQueue
from models.jobs.sizing import (
    available_cpus,
    cpu_quota,
    threads_per_worker,
    worker_count,
)
from tests import job_tasks as tasks


# --- wire -----------------------------------------------------------------------------------------------------
def test_wire_carries_nested_values_and_arrays_exactly():
    message = {"codes": np.arange(12, dtype=np.float32).reshape(3, 4), "half": np.array([1.5, -2], np.float16),
               "labels": np.array([3, 1], np.int64), "empty": np.zeros((0, 2), np.uint8), "n": 3, "x": 2.5,
               "odd": [float("nan"), float("inf"), -float("inf")], "t": (1, "a", None, True),
               "tag": {"$a": "not an array"}, "np": np.float32(0.25)}
    back = wire.loads(wire.dumps(message))
    for key in ("codes", "half", "labels", "empty"):
        assert back[key].dtype == message[key].dtype and np.array_equal(back[key], message[key])
        assert back[key].flags.writeable
    assert back["n"] == 3 and back["x"] == 2.5 and back["t"] == [1, "a", None, True] and back["np"] == 0.25
    assert np.isnan(back["odd"][0]) and back["odd"][1:] == [float("inf"), -float("inf")]
    assert back["tag"] == {"$a": "not an array"}


@pytest.mark.parametrize("bad", [pickle.dumps({"a": 1}), b"AEX1", wire.dumps({"a": np.zeros(100)})[:-8],
                                 b"AEX1\x05\x00\x00\x00{bad}"])
def test_wire_refuses_bytes_that_are_not_a_whole_message(bad):
    with pytest.raises(wire.WireError):
        wire.loads(bad)


def test_wire_refuses_to_send_what_it_cannot_carry_safely():
    with pytest.raises(TypeError, match="object"):
        wire.dumps({"a": np.array([object()])})
    with pytest.raises(TypeError, match="set"):
        wire.dumps({"a": {1, 2}})
    with pytest.raises(TypeError, match="str keys"):
        wire.dumps({1: "a"})


# --- sizing ---------------------------------------------------------------------------------------------------
def test_worker_count_follows_the_cgroup_quota_and_the_environment(tmp_path, monkeypatch):
    cpu_max = tmp_path / "cpu.max"
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)))  # a 16-core host
    cpu_max.write_text("200000 100000\n")
    assert cpu_quota(cpu_max) == 2.0 and available_cpus(cpu_max) == 2 and worker_count(cpu_max, {}) == 2
    cpu_max.write_text("150000 100000\n")  # 1.5 CPUs: two workers share them
    assert available_cpus(cpu_max) == 2
    cpu_max.write_text("max 100000\n")
    assert cpu_quota(cpu_max) is None and worker_count(cpu_max, {}) == 16
    assert cpu_quota(tmp_path / "absent") is None
    assert worker_count(cpu_max, {"AEX_TRAIN_WORKERS": "3"}) == 3 and threads_per_worker(3, cpu_max) == 5
    with pytest.raises(ValueError, match="whole number of at least 1"):
        worker_count(cpu_max, {"AEX_TRAIN_WORKERS": "0"})


# --- the embedded queue -----------------------------------------------------------------------------------------
def test_a_job_runs_in_a_fresh_python_that_never_runs_the_page_script(tmp_path, monkeypatch):
    """Streamlit runs each page script as __main__; a worker that imported its parent's __main__ would run the
    whole app. Jobs run in `python -m models.jobs.child`, which never sees it."""
    marker = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the page ran')\n")
    page = types.ModuleType("__main__")
    page.__file__, page.__spec__ = str(script), None  # as Streamlit's script module looks
    monkeypatch.setitem(sys.modules, "__main__", page)
    queue = EmbeddedQueue(1, "process", preload=False)
    try:
        job = queue.submit(tasks.sleeper, 0.01, "x")
        assert job.wait(60) and job.state == "done" and job.worker_pid not in (None, __import__("os").getpid())
    finally:
        queue.shutdown()
    assert not marker.exists()


def test_shutdown_stops_a_job_that_floods_its_pipe_and_its_child_exits():
    queue = EmbeddedQueue(1, "process", preload=False)
    job = queue.submit(tasks.chatty, 4_000_000, 60.0)
    deadline = time.monotonic() + 60
    while job.state != RUNNING and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    children = list(queue._children)
    stopping = threading.Thread(target=queue.shutdown, daemon=True)  # a hang fails the test, not the suite
    stopping.start()
    stopping.join(60)
    assert not stopping.is_alive() and job.wait(60)
    for child in children:
        assert child.wait(60) is not None


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_a_message_that_cannot_travel_fails_its_job_with_the_reason(backend):
    queue = EmbeddedQueue(1, backend, preload=False)
    try:
        job = queue.submit(tasks.sends_a_set)
        assert job.wait(60) and job.state == FAILED and job.error == "TypeError: set does not travel between " \
                                                                     "processes here"
        with pytest.raises(TypeError, match="does not travel"):
            queue.submit(tasks.sleeper, {1, 2}, "x")  # refused at submit: nothing is queued
        assert queue.counts() == (0, 0)
    finally:
        queue.shutdown()
