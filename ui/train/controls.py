"""The live view's controls, for watching a model learn at a pace a class can follow: pause and resume (after the
current batch), one step (exactly one batch, then paused again), a speed (a delay after every batch, kept in the
session for the next runs too), and Stop.

They drive the job engine's control API (models/jobs: queue.control(job, paused=…, step=…, delay=…), job.paused as
the worker last reported it). A paused job sends a frame after every step, so the plane, the decoded grid and the
loss curve follow each one; the batch counter (TrainingRun.batch_counter) shows it advance by one.
"""

from __future__ import annotations

import time

import streamlit as st

from models.jobs import QueueUnavailable
from ui.train.runs import TrainingRun, training_pool

SPEEDS = {"real time": 0.0, "slow": 0.1, "very slow": 0.5}  # seconds of delay after every batch
SPEED_KEY = "train_speed"  # the session's speed, kept between runs (the widget's own state goes with the view)
SPEED_WIDGET_KEY = "train_speed_picker"
SETTLE_SECONDS = 1.5  # a control waits this long at most for the worker to report it, so the redraw shows it


def speed_delay() -> float:
    return SPEEDS.get(st.session_state.get(SPEED_KEY), 0.0)


def _control(job, **change) -> bool:
    """queue.control, with an unreachable queue said in a toast rather than an error page."""
    try:
        training_pool().control(job, **change)
    except QueueUnavailable as exc:
        st.toast(f"Could not reach the queue: {exc}. Try again in a moment.", icon=":material/cloud_off:")
        return False
    return True


def _settle(done) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


def pause(run: TrainingRun) -> None:
    if _control(run.job, paused=True):
        run.pause_asked = True
        _settle(lambda: run.job.paused or run.job.finished)


def resume(run: TrainingRun) -> None:
    if _control(run.job, paused=False):
        run.pause_asked = False
        _settle(lambda: not run.job.paused or run.job.finished)


def step(run: TrainingRun) -> None:
    before = run.batches_done()
    if _control(run.job, step=True):
        _settle(lambda: run.batches_done() > before or run.job.finished)


def choose_speed() -> None:
    st.session_state[SPEED_KEY] = st.session_state[SPEED_WIDGET_KEY]


def sync_speed(run: TrainingRun) -> None:
    """Send the session's speed to the job whenever it differs from what the job was last told (also while it
    waits: the queue applies it from the first step)."""
    wanted = speed_delay()
    if not run.job.finished and run.delay_sent != wanted and _control(run.job, delay=wanted):
        run.delay_sent = wanted


def cancel(run: TrainingRun) -> None:
    """Stop (a button's callback): ends after the current batch and keeps the best finished epoch."""
    try:
        training_pool().cancel(run.job)
    except QueueUnavailable as exc:
        st.toast(f"Could not reach the queue to stop your run: {exc}. Try again in a moment.",
                 icon=":material/cloud_off:")


def counter_text(run: TrainingRun, left: float | None, seconds_text) -> str:
    """"epoch 1 of 5, batch 12 of 36 · 3 s · paused": a step visibly moves the batch by one."""
    epoch, batch, batches = run.batch_counter()
    if run.job.paused:
        tail = " · paused"
    elif left is None:
        tail = ""
    else:  # the queue's estimate knows nothing of the delay after every batch: that much at least is left
        left = max(left, (run.train_config.epochs * batches - run.batches_done()) * run.delay_sent)
        tail = f" · about {seconds_text(left)} left"
    return f"epoch {epoch} of {run.train_config.epochs}, batch {batch} of {batches} · {run.job.runtime:.0f} s{tail}"


def controls(run: TrainingRun) -> None:
    """Pause or Resume, One step (while paused), Stop and the speed, in one row that wraps on a phone."""
    sync_speed(run)
    paused = run.job.paused
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium", key="train_controls")
    if paused != run.pause_asked:  # asked, and the worker has not said so yet (it obeys after the current batch)
        row.button("Pausing…" if run.pause_asked else "Resuming…", key="train_pausing", disabled=True)
    elif paused:
        row.button("Resume", key="train_resume", icon="▶️", on_click=resume, args=(run,), type="primary",
                   help="Train on at the chosen speed.")
    else:
        row.button("Pause", key="train_pause", icon="⏸️", on_click=pause, args=(run,),
                   help="Pauses after the current batch.")
    row.button("One step", key="train_step", icon="⏭️", on_click=step, args=(run,), disabled=not paused,
               help="One batch (one gradient step), then paused again: the plane, the grid and the loss curve "
                    "follow it." if paused else "Pause first, then step one batch at a time.")
    row.button("Stop training", key="train_stop", icon="⏹️", on_click=cancel, args=(run,),
               help="Stops after the current batch and keeps the best finished epoch.")
    current = st.session_state.get(SPEED_KEY, "real time")
    row.select_slider("Speed", list(SPEEDS), value=current if current in SPEEDS else "real time",
                      key=SPEED_WIDGET_KEY, on_change=choose_speed, width=300,
                      help="A pause after every batch so that a class can watch: slow waits "
                           f"{SPEEDS['slow']:g} s, very slow {SPEEDS['very slow']:g} s. Kept for your next runs.")
