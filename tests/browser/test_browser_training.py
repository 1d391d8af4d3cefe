"""Training in the real browser, as a class does it: two students press Train on a server that trains one run at a
time (AEX_TRAIN_WORKERS=1). The second sees its place in the queue; the first watches its latent plane redraw in
place from the model as it trains, then stops it; the second then trains to its end, and both are kept. Paused, one step moves the batch counter by exactly one
and the plane takes that step's frame.

Screenshots while training and after, at 1440×900 and 1280×720, land in test-artifacts/training-*.png."""

from __future__ import annotations

import re

import pytest

from benchmarks.harness import ARTIFACTS, assert_no_exception, running_app, wait_idle

pytestmark = pytest.mark.browser
SIZES = [(1440, 900), (1280, 720)]


@pytest.fixture(scope="module")
def one_trainer():
    """The app with a pool of one worker, so that a second run must wait (the environment's one place)."""
    with running_app("streamlit-training.log", env={"AEX_TRAIN_WORKERS": "1"}) as url:
        yield url


def open_train(browser, url: str, size: tuple[int, int]):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(f"{url}/train")
    wait_idle(page)
    assert_no_exception(page, "train")
    return context, page


def press_train(page, epochs: int) -> None:
    """Set the Epochs slider (inside the form: no rerun until Train) and press Train."""
    slider = page.get_by_role("slider", name="Epochs")
    slider.focus()
    for _ in range(abs(epochs - 5)):
        page.keyboard.press("ArrowRight" if epochs > 5 else "ArrowLeft")
    assert (slider.get_attribute("aria-valuetext") or slider.input_value()) == str(epochs)
    page.get_by_role("button", name="Train").click()


def reloads(page) -> int:
    """How often a plane of a training run took a new frame in place (the plane counts it)."""
    return page.evaluate("() => Object.entries((window.__aex || {}).stats || {})"
                         ".filter(([id]) => id.startsWith('train:')).reduce((n, [, s]) => n + s.reloads, 0)")


def test_two_students_train_at_once_one_waits_in_the_queue_and_the_first_watches_it_learn(browser, one_trainer):
    first_context, first = open_train(browser, one_trainer, SIZES[0])
    second_context, second = open_train(browser, one_trainer, SIZES[1])
    try:
        press_train(first, epochs=30)
        first.get_by_text("Training Dense AE, latent 2, hidden 256").first.wait_for(timeout=60_000)
        first.wait_for_function("() => window.__aex && [...window.__aex.planes.keys()].some(k => "
                                "k.startsWith('train:'))", timeout=60_000)
        press_train(second, epochs=2)
        queue = second.locator('[data-testid="stAlert"]').filter(has_text="you are number 1 in the queue").first
        queue.wait_for(timeout=60_000)
        assert "this server trains 1 run at a time (1 training now)" in queue.inner_text()
        second.get_by_role("button", name="Cancel").first.wait_for()
        queue.scroll_into_view_if_needed()
        second.screenshot(path=str(ARTIFACTS / "training-queued-1280.png"))

        # The first student's latent picture changes at least three times while the model trains: four different
        # pictures of its plane, all taken before the run ended.
        pictures = []
        for _ in range(150):
            picture = first.locator("canvas.aex-plane").first.evaluate("c => c.toDataURL()")
            if not pictures or picture != pictures[-1]:
                pictures.append(picture)
            if len(pictures) >= 4:
                break
            first.wait_for_timeout(400)
        assert len(pictures) >= 4, f"the plane changed {len(pictures) - 1} times while it trained"
        assert first.get_by_text("Last run:").count() == 0, "the run ended before the plane had changed three times"
        assert reloads(first) >= 3  # new frames, taken in place (not a new plane each time)
        first.locator("canvas.aex-plane").first.scroll_into_view_if_needed()
        first.screenshot(path=str(ARTIFACTS / "training-live-1440.png"))

        # The first student has seen it learn and stops it (the best finished epoch is kept); the second run, which
        # waited, then trains to its end. Both are kept.
        first.locator('[data-testid="stProgress"]').filter(has_text=re.compile(r"epoch ([2-9]|\d\d) of 30")).first \
            .wait_for(timeout=120_000)  # an epoch finished: there is one to keep
        first.get_by_role("button", name="Stop training").click()
        for page in (first, second):
            page.get_by_text("Last run: Dense AE, latent 2, hidden 256").first.wait_for(timeout=180_000)
            wait_idle(page)
            assert_no_exception(page, "train after the run")
            assert page.get_by_text("Replay the run").count() == 1
        assert first.get_by_text("stopped by request during epoch").count() >= 1  # and kept its best epoch
        assert "in the queue" in second.get_by_text("Trained 2 epochs in").first.inner_text()  # it waited, says so
        for page, (width, _) in ((first, SIZES[0]), (second, SIZES[1])):
            page.get_by_text("Last run").first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"training-after-{width}.png"))
        model = second.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Model").input_value()
        assert model.startswith("Dense AE, latent 2, hidden 256, 2 epochs")  # selected in the sidebar
    finally:
        first_context.close()
        second_context.close()


def test_the_replay_scrubber_moves_the_plane_through_the_run(browser, one_trainer):
    context, page = open_train(browser, one_trainer, SIZES[1])
    try:
        press_train(page, epochs=3)
        page.get_by_text("Replay the run").first.wait_for(timeout=120_000)
        wait_idle(page)
        before = reloads(page)
        slider = page.get_by_role("slider", name="Frame")
        slider.focus()
        page.keyboard.press("Home")  # the untrained model
        wait_idle(page)
        page.wait_for_function(f"() => Object.values(window.__aex.stats).reduce((n, s) => n + s.reloads, 0) > {before}")
        assert "untrained" in page.locator(".aex-train-grid figcaption").first.inner_text()
        page.get_by_text("Replay the run").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "training-replay-1280.png"))
    finally:
        context.close()


def batches_done(page) -> int:
    """Batches done, as the live view's progress line says them ("epoch 2 of 50, batch 3 of 36": 39)."""
    text = page.locator('[data-testid="stProgress"]').first.inner_text()
    epoch, batch, batches = map(int, re.search(r"epoch (\d+) of \d+, batch (\d+) of (\d+)", text).groups())
    return (epoch - 1) * batches + batch


def test_pause_and_one_step_advance_exactly_one_batch_and_the_plane_follows(browser, one_trainer):
    context, page = open_train(browser, one_trainer, SIZES[1])
    try:
        press_train(page, epochs=50)  # long enough to pause half-way
        page.get_by_role("button", name="Pause", exact=True).click(timeout=60_000)
        page.get_by_role("button", name="Resume", exact=True).wait_for(timeout=60_000)
        page.locator('[data-testid="stProgress"]').filter(has_text="paused").wait_for(timeout=10_000)
        page.wait_for_function("() => window.__aex && [...window.__aex.planes.keys()].some(k => "
                               "k.startsWith('train:'))", timeout=60_000)
        paused_at = batches_done(page)
        page.wait_for_timeout(1500)  # three redraws of the live view
        assert batches_done(page) == paused_at, "a paused run went on training"
        for expected in (paused_at + 1, paused_at + 2):
            frames = reloads(page)
            page.get_by_role("button", name="One step").click()
            page.wait_for_function(f"() => Object.entries(window.__aex.stats).filter(([id]) => id.startsWith('train:'))"
                                   f".reduce((n, [, s]) => n + s.reloads, 0) > {frames}",
                                   timeout=30_000)  # the plane took the step's frame in place
            page.wait_for_timeout(1500)
            assert batches_done(page) == expected, "one step is one batch"
        assert_no_exception(page, "train while stepping")
        page.screenshot(path=str(ARTIFACTS / "training-stepped-1280.png"))
        page.get_by_role("button", name="Stop training").click()
        page.get_by_text("Last run:").first.wait_for(timeout=60_000)
    finally:
        context.close()
