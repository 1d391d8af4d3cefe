"""Jobs for the job-engine contract suite (tests/unit/test_jobs.py): module-level functions, as every backend
looks a job up by name, with arguments and messages that models.jobs.wire carries."""

from __future__ import annotations

import time

import numpy as np


def sleeper(ctx, seconds: float, tag: str) -> str:
    """Sleeps `seconds` in small steps, saying how far it got; stops early when asked."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if ctx.should_stop():
            return f"{tag} stopped"
        ctx.progress((time.monotonic() - started) / seconds)
        ctx.emit("tick", {"tag": tag})
        time.sleep(0.02)
    return tag


def raiser(ctx, message: str):
    ctx.emit("tick", {"tag": "before"})
    raise RuntimeError(message)


def chatty(ctx, nbytes: int, seconds: float) -> str:
    """Sends messages of `nbytes` as fast as it can for `seconds` (a worker killed now dies mid-message)."""
    block = np.arange(nbytes, dtype=np.uint8)
    started = time.monotonic()
    while time.monotonic() - started < seconds and not ctx.should_stop():
        ctx.emit("block", {"data": block, "sum": int(block.sum())})
    return "chatty done"


def until_stopped(ctx) -> dict:
    """Runs until cancelled or capped; says which."""
    while not ctx.should_stop():
        ctx.emit("tick", {"tag": "waiting"})
        time.sleep(0.02)
    return {"cancelled": ctx.cancelled, "capped": ctx.capped}


def sends_a_set(ctx) -> None:
    ctx.emit("bad", {1, 2})


def stepper(ctx, steps: int, seconds: float) -> dict:
    """`steps` steps of `seconds` each, numbered in a message after each; asks should_stop between steps (where
    pause, step and delay are obeyed)."""
    done = 0
    for done in range(1, steps + 1):
        time.sleep(seconds)
        ctx.emit("step", done)
        if ctx.should_stop():
            break
    return {"steps": done, "capped": ctx.capped, "cancelled": ctx.cancelled}
