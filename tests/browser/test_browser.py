"""The real browser, last: `streamlit run` on a loopback port, Debian's Chromium driven by Playwright.

Screenshots of every page land in test-artifacts/ (look at them). Nothing is installed here: .ci/run
(scripts/setup.sh --dev) provides /usr/bin/chromium and the playwright package.
"""

from __future__ import annotations

import pytest

from benchmarks.harness import ARTIFACTS, PAGES, assert_no_exception, wait_idle

pytestmark = pytest.mark.browser


def test_a_shared_link_on_a_fresh_server_goes_through_app_py(own_server, page):
    """A server of its own, met first by this link: Streamlit's legacy pages/ mode would skip app.py."""
    page.goto(f"{own_server}/features?model=mnist_ae2&unit=7")
    wait_idle(page)
    assert_no_exception(page, "deep link")
    nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    assert [t.split("\n")[-1] for t in nav] == ["Home", "Reconstructions", "Denoising", "Latent manifold",
                                                "Hidden-unit features", "Train", "About / lesson"]  # the lesson's order
    assert page.get_by_role("heading", name="Hidden-unit features").count() == 1
    assert "model=mnist_ae2" in page.url


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_without_exception(server, page, name):
    page.goto(f"{server}/{name}")
    wait_idle(page)
    assert_no_exception(page, name)
    page.screenshot(path=str(ARTIFACTS / f"{name or 'home'}.png"), full_page=True)
    assert page.locator('[data-testid="stSidebar"]').count() == 1
    assert page.get_by_text("Page not found").count() == 0
    if name in ("reconstructions", "denoising", "features", "latent"):
        page.locator('[data-testid="stImage"] img').first.wait_for(timeout=30_000)  # slow on a loaded machine


def test_moving_a_latent_slider_changes_the_decoded_image(server, page):
    page.goto(f"{server}/latent?model=mnist_vae2")
    wait_idle(page)
    # the decode is drawn in the browser, on the plane's decode canvas
    page.wait_for_function("() => window.__aex && window.__aex.planes.size >= 1", timeout=60_000)
    decoded = page.locator("canvas.aex-decoded").first
    before = decoded.evaluate("c => c.toDataURL()")
    thumb = page.get_by_role("slider", name="z1").first  # React Aria's <input type="range">
    thumb.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    after = decoded.evaluate("c => c.toDataURL()")
    assert_no_exception(page, "latent after slider")
    assert before != after
    assert "z1=" in page.url  # the view is in the URL, so it can be shared
    page.screenshot(path=str(ARTIFACTS / "latent-slider-moved.png"), full_page=True)


def test_training_one_epoch_in_the_browser_adds_the_model_to_the_sidebar(server, page):
    page.goto(f"{server}/train")
    wait_idle(page)
    epochs = page.get_by_role("slider", name="Epochs").first
    epochs.focus()
    page.keyboard.press("Home")  # the minimum: one epoch
    page.get_by_role("button", name="Train").first.click()
    # The run trains in the server's pool while the live panel reruns now and then: between two of its reruns the
    # page can look idle, so wait for the run's own result (it must come) before reading the page.
    page.get_by_text("Trained 1 epoch", exact=False).first.wait_for(timeout=180_000)
    wait_idle(page, timeout=180_000)
    assert_no_exception(page, "train")
    page.screenshot(path=str(ARTIFACTS / "train-after-one-epoch.png"), full_page=True)
    assert page.get_by_text("Trained 1 epoch", exact=False).count() > 0
    sidebar_model = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Model")
    assert "trained here" in sidebar_model.input_value()
    # the new model drives another page at once
    page.get_by_role("link", name="Reconstructions").first.click()
    wait_idle(page)
    assert_no_exception(page, "reconstructions with the trained model")
    assert "trained here" in sidebar_model.input_value()
    assert page.locator('[data-testid="stMain"] [data-testid="stImage"] img').count() > 0
