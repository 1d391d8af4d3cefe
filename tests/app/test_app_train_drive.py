"""Training a class can watch and drive: while a run is live its view is at the top and the form folds into an
expander (in projector mode too); Pause, One step and Resume drive the job, one step moves the batch counter by
exactly one, and the session's speed slows the run from its first batch."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.apptest import app_test
from tests.app.test_app_train import RUN_KEY, finish_training, thread_pool, train_page  # noqa: F401 (a fixture)
from ui.train.controls import SPEED_KEY, SPEEDS

pytestmark = pytest.mark.usefixtures("thread_pool")  # the page's pool as one thread of this process
COUNTER = re.compile(r"epoch (\d+) of (\d+), batch (\d+) of (\d+)")


def counter(at: AppTest) -> int:
    """Batches done, as the live view's progress line says them ("epoch 2 of 2, batch 3 of 36": 39)."""
    (line,) = [p.proto.text for p in at.get("progress")]
    epoch, _, batch, batches = map(int, COUNTER.search(line).groups())
    return (epoch - 1) * batches + batch


def until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def start(at: AppTest, speed: str = "very slow", epochs: int = 2) -> AppTest:
    """Press Train at the session's speed (kept in the session, as the speed control sets it) and wait for the
    run to start, so that the live view shows its controls."""
    at.session_state[SPEED_KEY] = speed
    at.slider(key="train_epochs").set_value(epochs)
    at.text_input(key="train_hidden").set_value("16")
    at.button(key="train_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = at.session_state[RUN_KEY]
    until(lambda: run.start is not None)
    at.run()
    return at


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_pause_then_one_step_moves_the_batch_counter_by_exactly_one():
    at = start(train_page())
    run = at.session_state[RUN_KEY]
    assert at.button(key="train_step").disabled  # stepping needs a pause first
    press(at, "train_pause")
    if "paused" not in at.get("progress")[0].proto.text:  # a first batch can take seconds (torch's first step)
        assert at.button(key="train_pausing").proto.label == "Pausing…"  # said, not hidden
        until(lambda: run.job.paused)
        at.run()
    assert "paused" in at.get("progress")[0].proto.text
    assert not at.button(key="train_step").disabled and at.button(key="train_resume")
    done = counter(at)
    assert done == run.batches_done()
    time.sleep(0.6)
    assert counter(at.run()) == done  # paused: nothing moves
    for expected in (done + 1, done + 2):
        press(at, "train_step")
        until(lambda: run.batches_done() >= expected)  # noqa: B023 (used at once)
        time.sleep(0.6)
        assert counter(at.run()) == expected  # one batch, then paused again
    frame = run.latest
    assert round(frame.epoch * run.start["batches"]) == done + 2  # the plane and grid show that very step
    press(at, "train_resume")
    assert not run.job.paused and at.button(key="train_pause")
    press(at, "train_stop")
    finish_training(at)
    assert "stopped by request" in " ".join(w.value for w in at.warning)


def test_the_session_speed_slows_the_run_from_its_first_batch_and_is_kept():
    at = start(train_page(), speed="very slow", epochs=1)
    run = at.session_state[RUN_KEY]
    began, done = time.monotonic(), run.batches_done()
    time.sleep(1.5)
    # At most one batch per delay, however fast (or loaded) the machine is; a 16-unit model in real time does
    # dozens of batches in that time.
    assert run.batches_done() - done <= (time.monotonic() - began) / SPEEDS["very slow"] + 1
    assert at.select_slider(key="train_speed_picker").value == "very slow"
    at.select_slider(key="train_speed_picker").set_value("real time").run()
    assert at.session_state[SPEED_KEY] == "real time"
    assert run.job.wait(60) and run.job.state == "done"  # real time again: the epoch ends at once
    finish_training(at)
    assert at.session_state[SPEED_KEY] == "real time"  # kept for the next run


def test_a_live_run_is_at_the_top_and_the_form_folds_away():
    at = start(train_page())
    (settings,) = [e for e in at.expander if e.label.startswith("Settings")]
    assert not settings.proto.expanded and settings.button(key="train_submit")  # the form, folded
    order = [e.value for e in at.main if getattr(e, "type", "") in ("title", "subheader")]
    assert order[:2] == ["🏋️ Train an autoencoder", f"Training {at.session_state[RUN_KEY].title}"]
    assert not any("went from a held-out loss" in m.value for m in at.markdown)  # the intro waits below
    press(at, "train_stop")
    finish_training(at)
    assert not [e for e in at.expander if e.label.startswith("Settings")]  # the form is back in place
    assert at.slider(key="train_epochs").value == 2 and at.text_input(key="train_hidden").value == "16"  # as set


def test_projector_mode_folds_the_form_under_the_last_run():
    at = app_test()
    at.query_params["present"] = "1"
    at.switch_page("pages/train.py").run()
    (settings,) = [e for e in at.expander if e.label == "Settings for a new run"]
    assert settings.proto.expanded  # nothing to show yet: the form is open
    start(at, speed="real time", epochs=1)
    finish_training(at)
    (settings,) = [e for e in at.expander if e.label == "Settings for a new run"]
    assert not settings.proto.expanded  # the last run is what the class sees
    order = [e.value for e in at.main if getattr(e, "type", "") in ("title", "subheader")]
    assert order[1].startswith("Last run: Dense AE")
