"""How many runs one machine trains at once, and with how many torch threads each: from the container's CPU quota
(cgroup v2's cpu.max) when it has one, since os.cpu_count() is the host's core count inside a container;
AEX_TRAIN_WORKERS overrides the worker count."""

from __future__ import annotations

import math
import os
from pathlib import Path

WORKERS_ENV = "AEX_TRAIN_WORKERS"
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_quota(path: Path = CPU_MAX) -> float | None:
    """CPUs the cgroup may use ("200000 100000" → 2.0), or None without a limit ("max 100000") or file."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        value = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def available_cpus(path: Path = CPU_MAX) -> int:
    """Whole CPUs this process may use: its affinity mask, capped by the cgroup's quota (rounded up)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = cpu_quota(path)
    return max(1, min(cpus, math.ceil(quota)) if quota else cpus)


def worker_count(path: Path = CPU_MAX, environ: dict | None = None) -> int:
    """AEX_TRAIN_WORKERS if set (a positive whole number), else one worker per available CPU."""
    value = (os.environ if environ is None else environ).get(WORKERS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{WORKERS_ENV} must be a whole number of at least 1, got {value!r}")
        return int(value)
    return available_cpus(path)


def threads_per_worker(workers: int, path: Path = CPU_MAX) -> int:
    return max(1, available_cpus(path) // max(1, workers))
