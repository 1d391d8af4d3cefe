"""A class on the Redis-backed queue, in the real browser: two app servers on two ports share one Redis and one
worker (python -m models.jobs.worker). A student on server 1 trains 50 epochs; a student on server 2 presses Train
and sees their place in the queue; both finish. Then the worker's whole process group is killed mid-run: the
student's page says the worker stopped within 30 s, and a new worker takes the next run.

Screenshots at 1280×720 land in test-artifacts/redis-*.png."""

from __future__ import annotations

import contextlib
import time

import pytest

from benchmarks.harness import ARTIFACTS, assert_no_exception, running_app, wait_idle
from benchmarks.services import kill_group, redis_server, start_worker
from tests.browser.test_browser_training import open_train, press_train

pytestmark = pytest.mark.browser
SIZE = (1280, 720)


@pytest.fixture(scope="module")
def two_servers():
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(redis_server())
        env = {"AEX_QUEUE_URL": url}
        one = stack.enter_context(running_app("streamlit-redis-1.log", env=env))
        two = stack.enter_context(running_app("streamlit-redis-2.log", env=env))
        yield url, one, two


HIDDEN = "64"  # a small model, so that 50 epochs end well within the run cap on a busy 2-core machine
TITLE = f"Dense AE, latent 2, hidden {HIDDEN}"


def train(page, epochs: int) -> None:
    page.get_by_role("textbox", name="Hidden sizes").fill(HIDDEN)
    press_train(page, epochs)


def last_run(page, timeout: float) -> str:
    page.get_by_text(f"Last run: {TITLE}").first.wait_for(timeout=timeout)
    wait_idle(page)
    assert_no_exception(page, "train after the run")
    return page.locator('[data-testid="stAlert"]').first.inner_text()


def test_two_servers_share_one_queue_and_a_killed_worker_costs_one_run(browser, two_servers):
    url, one, two = two_servers
    worker = start_worker(url, log_name="redis-worker.log")
    first_context, first = open_train(browser, one, SIZE)
    second_context, second = open_train(browser, two, SIZE)
    try:
        train(first, epochs=50)
        first.get_by_text(f"Training {TITLE}").first.wait_for(timeout=60_000)
        first.get_by_text("epoch").first.wait_for(timeout=60_000)
        train(second, epochs=2)
        queue = second.locator('[data-testid="stAlert"]').filter(has_text="you are number 1 in the queue").first
        queue.wait_for(timeout=60_000)
        assert "the class's training queue trains 1 run at a time (1 training now)" in queue.inner_text()
        queue.scroll_into_view_if_needed()
        second.screenshot(path=str(ARTIFACTS / "redis-queued-1280.png"))
        assert "Trained 50 epochs in" in last_run(first, 300_000)
        assert "in the queue" in last_run(second, 120_000)  # it waited for server 1's run, and says so

        # The worker dies with its whole process group while server 1's student trains.
        train(first, epochs=50)
        first.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
        first.wait_for_timeout(1500)
        train(second, epochs=1)  # waits behind it
        second.locator('[data-testid="stAlert"]').filter(has_text="you are number 1 in the queue").first.wait_for(
            timeout=60_000)
        kill_group(worker)
        killed = time.monotonic()
        message = first.locator('[data-testid="stAlert"]').filter(has_text="the worker running your model stopped")
        message.first.wait_for(timeout=30_000)
        assert time.monotonic() - killed <= 30
        message.first.scroll_into_view_if_needed()
        first.screenshot(path=str(ARTIFACTS / "redis-worker-stopped-1280.png"))
        assert_no_exception(first, "train after the worker died")
        worker = start_worker(url, log_name="redis-worker.log")  # a new worker takes the next run
        assert "Trained 1 epoch in" in last_run(second, 120_000)
    finally:
        kill_group(worker)
        first_context.close()
        second_context.close()
