"""The default queue: jobs wait in this server, in the order they came, and each runs in a fresh child process
(python -m models.jobs.child) with no other service needed.

`workers` slots each keep one child started and warmed up (torch imported): a slot gives it the next job, relays
its messages, and starts the child for its following job as soon as this one starts, so that one warms up
meanwhile. A child that dies (killed, out of memory) ends only its own job, as "the worker running your model
stopped"; its slot goes on with the next child and the queue goes on. A job that runs far past its time cap is
killed the same way. kind="thread" runs jobs in threads of this process instead (tests, and machines that cannot
start processes); messages still cross models.jobs.wire, so a job that works in one mode works in the other.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections import deque
from pathlib import Path

from models.jobs import wire
from models.jobs.base import (
    CANCELLED,
    FAILED,
    LOG,
    QUEUED,
    WORKER_STOPPED,
    Job,
    JobQueue,
    QueueFull,
    task_name,
)
from models.jobs.runner import MAX_WATCHING, Control, control_lines, execute

ROOT = Path(__file__).resolve().parents[2]  # the children import models from here, whatever the cwd
KILL_GRACE = 30.0  # seconds past the time cap (and its watching allowance) before a job that does not stop is killed


class _Running:
    """A job in a slot: its child (None in thread mode), told control lines on its stdin once its spec is there
    (a line written before the spec would break the spec's frame)."""

    def __init__(self, job: Job, proc: subprocess.Popen | None):
        self.job, self.proc = job, proc
        self.ready = False  # the spec has been written
        self._stop_sent = False

    def stop(self) -> None:
        if self.ready and not self._stop_sent:
            self._stop_sent = True
            self.send(["stop"])

    def send(self, lines: list[str]) -> None:
        if self.proc is None or not lines or not self.ready:
            return
        try:
            self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode())
            self.proc.stdin.flush()
        except (OSError, ValueError):  # already gone
            pass


class EmbeddedQueue(JobQueue):
    def __init__(self, workers: int, kind: str = "process", time_cap: float | None = None,
                 seconds_per_work: float = 1.0, max_waiting: int = 200, max_per_client: int = 40,
                 threads: int = 1, preload: bool = True):
        if kind not in ("process", "thread"):
            raise ValueError(f"kind must be process or thread, got {kind!r}")
        super().__init__(time_cap, seconds_per_work, max_waiting, max_per_client)
        self.workers, self.kind, self.threads, self.preload = max(1, int(workers)), kind, threads, preload
        self._waiting: deque[tuple[Job, bytes]] = deque()
        self._running: dict[str, _Running] = {}
        self._ready = threading.Condition(self._lock)
        self._closed = False
        self._children: set[subprocess.Popen] = set()
        self._controls: dict[str, Control] = {}  # each job's control state as asked (thread mode reads it)
        for slot in range(self.workers):
            threading.Thread(target=self._slot, name=f"aex-job-slot-{slot}", daemon=True).start()

    # --- the interface -------------------------------------------------------------------------------------
    def submit(self, fn, *args, owner: str = "", work: float = 1.0, on_message=None, on_end=None,
               client: str = "") -> Job:
        """Queue fn(ctx, *args); fn is a module-level function and args travel by models.jobs.wire."""
        data = wire.dumps({"task": task_name(fn), "args": list(args), "time_cap": self.time_cap})
        with self._lock:
            if self._closed:
                raise QueueFull("the training queue is shutting down")
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self._waiting)} runs are already waiting")
            self._check_client(client, sum(j.client == client for j in self._jobs.values()))
            job = Job(id=uuid.uuid4().hex[:16], owner=owner, client=client, work=work,
                      expected=self.expected_seconds(work), on_message=on_message, on_end=on_end)
            self._jobs[job.id] = job
            self._waiting.append((job, data))
            self._ready.notify()
        return job

    def cancel(self, job: Job) -> None:
        """A waiting job leaves the queue; a running one is asked to stop (it ends after its current step)."""
        with self._lock:
            job.stop_requested = True
            waiting = next((item for item in self._waiting if item[0] is job), None)
            if waiting is not None:
                self._waiting.remove(waiting)
            running = self._running.get(job.id)
        if waiting is not None:
            with self._lock:
                self._controls.pop(job.id, None)
            self._finish(job, CANCELLED)
        elif running is not None:
            running.stop()

    def control(self, job: Job, paused: bool | None = None, step: bool = False, delay: float | None = None) -> None:
        """Pause or resume after the current step, one step while paused, a delay after every step; what is asked
        before the job starts applies from its first step."""
        lines = control_lines(paused, step, delay)
        with self._lock:
            state = self._controls.setdefault(job.id, Control())
            for line in lines:
                state.apply(line)
            running = self._running.get(job.id)
        if running is not None:
            running.send(lines)

    def position(self, job: Job) -> int | None:
        """1 for the next job to start, 2 for the one after…; None once it runs or has ended."""
        with self._lock:
            for i, (other, _) in enumerate(self._waiting):
                if other is job:
                    return i + 1
        return None

    def counts(self) -> tuple[int, int]:
        """(running, waiting)."""
        with self._lock:
            return len(self._running), len(self._waiting)

    def _ahead_and_running(self, job: Job):
        with self._lock:
            ids = [other.id for other, _ in self._waiting]
            if job.id not in ids:
                return None
            ahead = [other.expected for other, _ in list(self._waiting)[:ids.index(job.id)]]
            running = [self.remaining_seconds(r.job) for r in self._running.values()]
        return ahead, running

    def shutdown(self, wait: bool = True) -> None:
        """Cancel every job; children stop when their stdin closes."""
        with self._lock:
            self._closed = True
            jobs = [job for job, _ in self._waiting] + [r.job for r in self._running.values()]
            self._ready.notify_all()
        for job in jobs:
            self.cancel(job)
        for proc in list(self._children):
            _close(proc, wait=2.0 if wait else 0.0)

    # --- the slots -----------------------------------------------------------------------------------------
    def _slot(self) -> None:
        proc = self._warm()
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if self._closed:
                    break
                job, data = self._waiting.popleft()
                running = self._running[job.id] = _Running(job, proc)
            after = self._warm()  # the next job's child imports torch while this one trains
            try:
                if self.kind == "thread":
                    self._run_thread(job, data)
                else:
                    self._run_process(running, data)
            except Exception as exc:  # noqa: BLE001 (the slot must go on for the next job)
                LOG.exception("a job's slot failed")
                self._finish(job, FAILED, error=f"{type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._running.pop(job.id, None)
                    self._controls.pop(job.id, None)
                if proc is not None:
                    _close(proc, wait=5.0)
                    self._children.discard(proc)
            proc = after
        if proc is not None:
            _close(proc, wait=0.0)
            self._children.discard(proc)

    def _warm(self) -> subprocess.Popen | None:
        """A child started now, to be ready for the slot's next job (None in thread mode or if none starts)."""
        if self.kind != "process":
            return None
        try:
            return self._spawn()
        except OSError:
            LOG.exception("a training worker could not start")
            return None

    def _spawn(self) -> subprocess.Popen:
        args = [sys.executable, "-m", "models.jobs.child", "--threads", str(self.threads)]
        proc = subprocess.Popen(args + ([] if self.preload else ["--no-preload"]), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, cwd=ROOT, start_new_session=True)
        self._children.add(proc)
        return proc

    def _run_process(self, running: _Running, data: bytes) -> None:
        job, proc = running.job, running.proc
        if proc is None:
            self._finish(job, FAILED, error="the job could not start: no worker process")
            return
        try:
            wire.write_frame(proc.stdin, data)
        except (OSError, ValueError):
            proc = None
        with self._lock:  # what was asked while it waited, then what is asked from now on
            running.ready = proc is not None
            asked = self._controls.get(job.id)
            if asked is not None:
                running.send(control_lines(asked.paused or None, False, asked.delay or None) + ["step"] * asked.steps)
            if job.stop_requested:
                running.stop()
        watchdog = None
        if self.time_cap is not None and proc is not None:
            watchdog = threading.Timer(self.time_cap + MAX_WATCHING + KILL_GRACE, proc.kill)
            watchdog.daemon = True
            watchdog.start()
        outcome = None
        while proc is not None and outcome is None:
            frame = wire.read_frame(proc.stdout)
            if frame is None:
                break
            outcome = self._handle(job, frame)
        if watchdog is not None:
            watchdog.cancel()
        self._end(job, outcome)

    def _run_thread(self, job: Job, data: bytes) -> None:
        outcome = []

        def send(kind, payload):
            result = self._handle(job, wire.dumps([kind, payload]))
            if result is not None:
                outcome.append(result)

        with self._lock:
            control = self._controls.setdefault(job.id, Control())
        execute(wire.loads(data), send, lambda: job.stop_requested, lambda: control)
        self._end(job, outcome[0] if outcome else None)

    def _handle(self, job: Job, frame: bytes) -> dict | None:
        kind, payload = wire.loads(frame)
        try:
            return self._dispatch(job, kind, payload)
        except Exception:  # noqa: BLE001 (one bad message must not end the job)
            LOG.exception("a job's message could not be handled")
            return None

    def _end(self, job: Job, outcome: dict | None) -> None:
        if outcome is not None:
            self._finish_from(job, outcome)
        elif job.state == QUEUED and job.stop_requested:
            self._finish(job, CANCELLED)
        else:
            self._finish(job, FAILED, error=WORKER_STOPPED)


def _close(proc: subprocess.Popen, wait: float) -> None:
    """Close a child's stdin (it stops) and reap it, killing it if it does not end in time."""
    try:
        proc.stdin.close()
    except (OSError, ValueError):
        pass
    try:
        proc.wait(timeout=wait) if wait else proc.kill()
    except subprocess.TimeoutExpired:
        proc.kill()
    try:
        proc.wait(timeout=5)
        proc.stdout.close()
    except (subprocess.TimeoutExpired, OSError, ValueError):
        pass
