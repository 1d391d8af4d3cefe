"""The Redis keys the app servers and the workers share, in one place. Everything a job leaves in Redis expires."""

from __future__ import annotations

QUEUE_NAME = "aex-train"  # the RQ queue's name
TTL = 3600  # seconds a job's keys outlive it at most
ALIVE_TTL, ALIVE_EVERY = 10, 2  # a running job's heartbeat: renewed every 2 s, gone 10 s after its worker died
MAX_STREAM = 5000  # messages kept per job (approximate trim); the app reads them as they come
RATE_FIELD = "seconds_per_work"


class Keys:
    def __init__(self, queue: str = QUEUE_NAME):
        self.queue = queue
        self.running = f"aex:{queue}:running"  # set of the ids of jobs a worker has started and not ended
        self.rate = f"aex:{queue}:rate"  # hash: what the servers learnt of how fast runs go

    def spec(self, jid: str) -> str:  # the job's wire bytes
        return f"aex:{self.queue}:spec:{jid}"

    def info(self, jid: str) -> str:  # hash: owner, client, work, expected, submitted, started, progress, state
        return f"aex:{self.queue}:job:{jid}"

    def messages(self, jid: str) -> str:  # stream of the job's messages, field "m" = wire bytes
        return f"aex:{self.queue}:msgs:{jid}"

    def stop(self, jid: str) -> str:  # set when someone asks the job to stop
        return f"aex:{self.queue}:stop:{jid}"

    def control(self, jid: str) -> str:  # list of control lines (pause, resume, step, delay), in the order asked
        return f"aex:{self.queue}:control:{jid}"

    def alive(self, jid: str) -> str:  # the running job's heartbeat
        return f"aex:{self.queue}:alive:{jid}"

    def client(self, client: str) -> str:  # set of a client address's jobs that have not ended
        return f"aex:{self.queue}:client:{client}"
