"""The queue through Redis + RQ (AEX_QUEUE_URL): every app server pointed at one Redis shares one queue, and
`python -m models.jobs.worker` processes anywhere train its jobs (models/jobs/rq_task.py runs each one).

What lives where (models/jobs/keys.py names the keys): the waiting order is RQ's queue, so positions and wait
estimates agree on every server; each job's spec, a hash of what every server needs to know of it (expected time,
progress, when it started) and a stream of its messages (models.jobs.wire bytes: never unpickled here) live in
Redis with a TTL; a running job keeps a heartbeat key alive. RQ pickles only the job's call, which this module
writes: perform(queue name, job id).

One listener thread per app server reads the streams of this server's jobs and ends a job when its worker says
END, when RQ marks it failed without END (a killed work-horse), or when its heartbeat lapses (a killed worker):
"the worker running your model stopped", within ALIVE_TTL + a second. If Redis stops answering for LOST_AFTER
seconds, this server's jobs end with "the training queue stopped answering"; submit says Redis cannot be reached.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job as RQJob
from rq.job import JobStatus

from models.jobs import wire
from models.jobs.base import (
    CANCELLED,
    FAILED,
    LOG,
    QUEUE_LOST,
    QUEUED,
    RUNNING,
    WORKER_STOPPED,
    Job,
    JobQueue,
    QueueFull,
    QueueUnavailable,
    task_name,
)
from models.jobs.keys import QUEUE_NAME, TTL, Keys
from models.jobs.runner import MAX_WATCHING, control_lines

LOST_AFTER = 20.0  # seconds without Redis before this server's jobs are given up
CHECK_SECONDS = 1.0  # how often the listener looks at its jobs' RQ status and heartbeats
KILL_GRACE = 60  # RQ's own timeout is the time cap plus this


def unreachable(url: str) -> str:
    host = url.split("@")[-1].split("//")[-1].split("/")[0]  # never a password in a message
    return f"the training queue (Redis at {host}) cannot be reached"


class RedisQueue(JobQueue):
    place = "the class's training queue"
    def __init__(self, url: str, time_cap: float | None = None, seconds_per_work: float = 1.0,
                 max_waiting: int = 200, max_per_client: int = 40, queue: str = QUEUE_NAME,
                 lost_after: float = LOST_AFTER):
        super().__init__(time_cap, seconds_per_work, max_waiting, max_per_client)
        self.lost_after = lost_after
        self.url, self.keys = url, Keys(queue)
        self._unreachable = unreachable(url)
        self.redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=15)
        with self._guard():
            self.redis.ping()
        self.queue = Queue(queue, connection=self.redis)
        self._cursor: dict[str, bytes] = {}
        self._workers = (0.0, 1)  # (when counted, how many)
        self._closed = threading.Event()
        threading.Thread(target=self._listen, name="aex-redis-listener", daemon=True).start()

    @contextmanager
    def _guard(self):
        try:
            yield
        except RedisError:
            raise QueueUnavailable(self._unreachable) from None

    @property
    def workers(self) -> int:
        """RQ workers listening on this queue (counted at most every 2 s)."""
        counted, count = self._workers
        if time.monotonic() - counted > 2.0:
            try:
                count = max(1, Worker.count(connection=self.redis, queue=self.queue))
            except RedisError:
                pass
            self._workers = (time.monotonic(), count)
        return count

    # --- the interface -------------------------------------------------------------------------------------
    def submit(self, fn, *args, owner: str = "", work: float = 1.0, on_message=None, on_end=None,
               client: str = "") -> Job:
        data = wire.dumps({"task": task_name(fn), "args": list(args), "time_cap": self.time_cap})
        job = Job(id=uuid.uuid4().hex[:16], owner=owner, client=client, work=work,
                  expected=self.expected_seconds(work), on_message=on_message, on_end=on_end)
        k = self.keys
        with self._guard():
            waiting = self.queue.count
            if waiting >= self.max_waiting:
                raise QueueFull(f"{waiting} runs are already waiting")
            if client:
                self._check_client(client, self._client_active(client))
            pipe = self.redis.pipeline()
            pipe.set(k.spec(job.id), data, ex=TTL)
            pipe.hset(k.info(job.id), mapping={"owner": owner, "client": client, "work": work,
                                               "expected": job.expected, "submitted": time.time(), "state": QUEUED})
            pipe.expire(k.info(job.id), TTL)
            if client:
                pipe.sadd(k.client(client), job.id)
                pipe.expire(k.client(client), TTL)
            pipe.execute()
            with self._lock:
                self._jobs[job.id] = job
                self._cursor[job.id] = b"0-0"
            timeout = int((self.time_cap or TTL) + MAX_WATCHING) + KILL_GRACE
            self.queue.enqueue_call("models.jobs.rq_task.perform", args=(self.keys.queue, job.id), job_id=job.id,
                                    timeout=timeout, result_ttl=60, failure_ttl=TTL, ttl=TTL,
                                    description=f"training run {owner}")
        return job

    def _client_active(self, client: str) -> int:
        """The client's jobs that have not ended, on any server (ended ones are pruned from its set)."""
        ids = [i.decode() for i in self.redis.smembers(self.keys.client(client))]
        states = self.redis.pipeline()
        for jid in ids:
            states.hget(self.keys.info(jid), "state")
        ended = [jid for jid, state in zip(ids, states.execute()) if state in (None, b"ended")]
        if ended:
            self.redis.srem(self.keys.client(client), *ended)
        return len(ids) - len(ended)

    def cancel(self, job: Job) -> None:
        job.stop_requested = True
        with self._guard():
            self.redis.set(self.keys.stop(job.id), 1, ex=TTL)
            rq_job = RQJob.fetch(job.id, connection=self.redis)
            if rq_job.get_status() == JobStatus.QUEUED:
                rq_job.cancel()
                self._finish(job, CANCELLED)

    def control(self, job: Job, paused: bool | None = None, step: bool = False, delay: float | None = None) -> None:
        """Pause, resume, one step, a delay after each step: lines its worker reads, from whichever server."""
        lines = control_lines(paused, step, delay)
        if lines:
            with self._guard():
                pipe = self.redis.pipeline()
                pipe.rpush(self.keys.control(job.id), *lines)
                pipe.expire(self.keys.control(job.id), TTL)
                pipe.execute()

    def position(self, job: Job) -> int | None:
        if job.state != QUEUED or job.finished or job.stop_requested:
            return None
        with self._guard():
            ids = self.queue.get_job_ids()
        return ids.index(job.id) + 1 if job.id in ids else None

    def counts(self) -> tuple[int, int]:
        with self._guard():
            return len(self._running_ids()), self.queue.count

    def _running_ids(self) -> list[str]:
        ids = [i.decode() for i in self.redis.smembers(self.keys.running)]
        pipe = self.redis.pipeline()
        for jid in ids:
            pipe.exists(self.keys.alive(jid))
        return [jid for jid, alive in zip(ids, pipe.execute()) if alive]

    def _ahead_and_running(self, job: Job):
        if job.state != QUEUED or job.finished or job.stop_requested:
            return None
        with self._guard():
            ids = self.queue.get_job_ids()
            if job.id not in ids:
                return None
            ahead, running = ids[:ids.index(job.id)], self._running_ids()
            pipe = self.redis.pipeline()
            for jid in ahead + running:
                pipe.hmget(self.keys.info(jid), "expected", "started", "progress")
            rows = pipe.execute()
        now, left = time.time(), []
        for expected, started, progress in rows[len(ahead):]:
            elapsed = now - float(started) if started else 0.0
            left.append(self._remaining(elapsed, float(progress or 0), float(expected or 0)))
        return [float(row[0] or 0) for row in rows[:len(ahead)]], left

    def shutdown(self, wait: bool = True) -> None:
        """Stops listening; this server's waiting jobs are cancelled, running ones asked to stop."""
        for job in list(self._jobs.values()):
            try:
                self.cancel(job)
            except QueueUnavailable:
                pass
        self._closed.set()

    def problem(self) -> str | None:
        try:
            self.redis.ping()
        except RedisError:
            return self._unreachable
        return None

    # --- the listener ----------------------------------------------------------------------------------------
    def _listen(self) -> None:
        lost_since, checked = None, 0.0
        while not self._closed.is_set():
            with self._lock:
                jobs = {job.id: job for job in self._jobs.values()}
            if not jobs:
                time.sleep(0.2)
                continue
            try:
                self._read(jobs, block=250)
                if time.monotonic() - checked >= CHECK_SECONDS:
                    checked = time.monotonic()
                    self._check(jobs)
                lost_since = None
            except RedisError as exc:
                lost_since = lost_since or time.monotonic()
                LOG.warning("the training queue's Redis does not answer: %s", exc)
                if time.monotonic() - lost_since > self.lost_after:
                    for job in jobs.values():
                        self._finish(job, FAILED, error=QUEUE_LOST)
                time.sleep(1.0)
            except Exception:  # noqa: BLE001 (the listener serves every job of this server: it must go on)
                LOG.exception("the training queue's listener failed; going on")
                time.sleep(1.0)

    def _read(self, jobs: dict[str, Job], block: int | None) -> None:
        streams = {self.keys.messages(jid): self._cursor.get(jid, b"0-0") for jid in jobs}
        for stream, entries in self.redis.xread(streams, count=200, block=block) or []:
            jid = (stream.decode() if isinstance(stream, bytes) else stream).rsplit(":", 1)[-1]
            job = jobs.get(jid)
            for entry_id, fields in entries:
                self._cursor[jid] = entry_id
                if job is None or job.finished:
                    continue
                try:
                    kind, payload = wire.loads(fields[b"m"])
                    outcome = self._dispatch(job, kind, payload)
                except Exception:  # noqa: BLE001 (one bad message must not end the job)
                    LOG.exception("a job's message could not be handled")
                    continue
                if outcome is not None:
                    self._finish_from(job, outcome)
                    self._forget(jid)

    def _check(self, jobs: dict[str, Job]) -> None:
        """End the jobs whose worker died or that RQ gave up, after reading what they sent last."""
        ids = [jid for jid, job in jobs.items() if not job.finished]
        rq_jobs = RQJob.fetch_many(ids, connection=self.redis)
        pipe = self.redis.pipeline()
        for jid in ids:
            pipe.exists(self.keys.alive(jid))
        alive = pipe.execute()
        for jid, rq_job, beating in zip(ids, rq_jobs, alive):
            job = jobs[jid]
            status = None if rq_job is None else rq_job.get_status(refresh=False)
            dead = (job.state == RUNNING and not beating) or status in (JobStatus.FAILED, JobStatus.STOPPED) \
                or rq_job is None
            if status == JobStatus.CANCELED and job.state == QUEUED:
                self._finish(job, CANCELLED)
            elif dead:
                self._read({jid: job}, block=None)  # its END may have come just before
                if not job.finished:
                    self._finish(job, FAILED, error=WORKER_STOPPED if rq_job is not None else QUEUE_LOST)
            if job.finished:
                self._forget(jid)

    def _finish(self, job: Job, state: str, result=None, error: str | None = None) -> None:
        super()._finish(job, state, result, error)
        try:  # a job cancelled while waiting never reached a worker: say here that it ended
            pipe = self.redis.pipeline()
            pipe.hset(self.keys.info(job.id), "state", "ended")
            pipe.expire(self.keys.info(job.id), TTL)
            if job.client:
                pipe.srem(self.keys.client(job.client), job.id)
            pipe.execute()
        except RedisError:
            pass  # its keys expire; the client's set is pruned by state on the next submit

    def _forget(self, jid: str) -> None:
        self._cursor.pop(jid, None)
