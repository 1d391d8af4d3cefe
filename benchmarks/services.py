"""The services a Redis-backed class needs, for tests and benchmarks: Debian's redis-server on a free loopback
port (no persistence; stopped by its PID), and `python -m models.jobs.worker` processes, each in its own process
group so that a test can kill a worker with its work-horse the way a crashed machine would."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

from benchmarks.harness import ARTIFACTS, ROOT, free_port, stop

REDIS_SERVER = "redis-server"


@contextlib.contextmanager
def redis_server():
    """A fresh redis-server on 127.0.0.1; yields its URL (database 0)."""
    binary = shutil.which(REDIS_SERVER)
    if binary is None:
        raise RuntimeError("Debian's redis-server is missing: run scripts/setup.sh --dev")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for_port(proc, port)
        yield url
    finally:
        stop(proc)


def _wait_for_port(proc: subprocess.Popen, port: int, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited ({proc.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on {port} within {timeout:.0f} s")


def start_worker(url: str, queue: str | None = None, preload: bool = True, log_name: str | None = None,
                 threads: int = 1) -> subprocess.Popen:
    """One `python -m models.jobs.worker --workers 1`, in its own process group; its log goes to
    test-artifacts/<log_name> (or nowhere). One torch thread by default: several workers share this machine's
    cores, and torch's OpenMP threads crawl when there are more of them than cores."""
    args = [sys.executable, "-m", "models.jobs.worker", "--workers", "1"]
    args += (["--queue", queue] if queue else []) + ([] if preload else ["--no-preload"])
    env = {**os.environ, "AEX_QUEUE_URL": url, "PYTHONUNBUFFERED": "1"}
    env["AEX_TORCH_THREADS"] = str(threads)
    out = subprocess.DEVNULL
    if log_name:
        ARTIFACTS.mkdir(exist_ok=True)
        out = (ARTIFACTS / log_name).open("ab")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a worker's process group (the worker and its current work-horse's parent)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@contextlib.contextmanager
def workers(url: str, count: int, queue: str | None = None, preload: bool = True, log_name: str | None = None,
            threads: int = 1):
    procs = [start_worker(url, queue, preload, log_name, threads) for _ in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            kill_group(proc) if proc.poll() is None else None

