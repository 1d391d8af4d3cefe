"""The Train page and the job engine around it: Redis unreachable is a message on the Train page (never a
traceback) while the other pages keep working; a run trains in bfloat16 where the CPU does it natively and its
record says so; a session that ends takes its waiting run out of the queue."""

from __future__ import annotations

import gc

import pytest
from streamlit.testing.v1 import AppTest

import ui.train.runs as train_runs
from benchmarks.harness import free_port
from models.jobs import CANCELLED, DONE, RUNNING
from models.jobs.embedded import EmbeddedQueue
from models.training.job import fastest_precision
from tests.app.apptest import app_test
from tests.app.test_app_train import submit, texts, thread_pool, train_page, trained  # noqa: F401 (a fixture)
from tests.job_tasks import sleeper, until_stopped
from tests.unit.test_jobs import wait_for
from ui.train.runs import SessionGuard


def test_an_unreachable_redis_is_a_message_on_the_train_page_and_other_pages_work(monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("AEX_QUEUE_URL", f"redis://:secret@127.0.0.1:{port}/0")
    monkeypatch.setattr(train_runs, "_POOL", None)
    monkeypatch.setattr(train_runs, "_LAST_FAILURE", None)
    at = train_page()
    errors = texts(at.error)
    assert f"Training is unavailable right now: the training queue (Redis at 127.0.0.1:{port}) cannot be " \
           f"reached" in errors and "secret" not in errors
    assert at.button(key="train_submit") is not None and "none can train right now" in texts(at.markdown)
    at.button(key="train_submit").click().run()  # pressing Train anyway starts nothing and breaks nothing
    assert not at.exception and "train_run" not in at.session_state
    other = app_test()
    other.switch_page("pages/latent.py").run()
    assert not other.exception and not other.error


def test_a_run_trains_in_the_fastest_precision_here_and_its_record_says_which(thread_pool):
    at = submit(train_page())
    (choice,) = trained(at).values()
    assert choice.record["train"]["precision"] == fastest_precision()
    success = texts(at.success)
    assert ("bfloat16 mixed precision" in success) == (fastest_precision() == "bfloat16")
    if fastest_precision() == "bfloat16":
        assert "--precision bfloat16" in choice.record["command"]


def test_a_session_that_ends_takes_its_waiting_run_out_of_the_queue():
    queue = EmbeddedQueue(1, "thread")
    try:
        blocker = queue.submit(until_stopped)
        wait_for(lambda: blocker.state == RUNNING)
        waiting = queue.submit(sleeper, 0.01, "waiting")
        running_guard, waiting_guard = SessionGuard(), SessionGuard()
        running_guard.watch(queue, blocker)
        waiting_guard.watch(queue, waiting)
        del running_guard, waiting_guard  # Streamlit drops the sessions' state
        gc.collect()
        assert waiting.wait(10) and waiting.state == CANCELLED
        assert blocker.state == RUNNING  # a running run finishes
        queue.cancel(blocker)
        assert blocker.wait(10) and blocker.state == DONE
    finally:
        queue.shutdown()


@pytest.fixture(autouse=True)
def _no_queue_env(monkeypatch):
    monkeypatch.delenv("AEX_QUEUE_URL", raising=False)


def test_a_sidebar_event_that_crosses_the_train_pages_reselection_is_ignored():
    """After a run the Train page drops the sidebar pickers' state to select the new model; a picker event from the
    browser that arrives across that rerun used to raise KeyError in its callback (seen under load)."""

    def script():
        import streamlit as st

        from ui.sidebar import PICKED_KEY, _picked_dataset, _picked_model

        st.session_state.pop("sidebar_dataset", None)
        st.session_state.pop("sidebar_model", None)
        _picked_dataset()
        _picked_model()
        st.write(f"picked: {st.session_state.get(PICKED_KEY)}")

    at = AppTest.from_function(script)
    at.run()
    assert not at.exception and at.markdown[0].value == "picked: None"
