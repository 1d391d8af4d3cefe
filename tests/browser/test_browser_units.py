"""Switching units off (Features) and the Contraction tab (Latent) in the real browser at 1280×720: screenshots of
each view (look at them in test-artifacts/), nothing thrown, nothing wider than its column, and a unit switched in
the browser changes the shown loss."""

from __future__ import annotations

import re

import pytest

from benchmarks.harness import ARTIFACTS, assert_no_exception, wait_idle
from tests.browser.test_browser_features import IMAGES_WIDER_THAN_COLUMN, OVERFLOWING

pytestmark = pytest.mark.browser
SIZE = {"width": 1280, "height": 720}


@pytest.fixture
def page(browser):
    """A 1280×720 page (the projector's size), closed after the test."""
    context = browser.new_context(viewport=SIZE)
    yield context.new_page()
    context.close()


def test_switching_a_unit_off_in_the_browser_changes_the_loss(server, page):
    page.goto(f"{server}/features?left=mnist_tied100&right=mnist_untied100&off=37")
    wait_idle(page)
    page.locator('[data-testid="stExpander"] summary', has_text="Switch units off").click()
    first = page.locator('[data-testid="stMarkdownContainer"]', has_text="Reconstruction BCE per image").first
    first.wait_for(state="visible")
    first.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / "features-switch-1280x720.png"))
    assert_no_exception(page, "features, units switched")
    assert page.evaluate(OVERFLOWING) == [] and page.evaluate(IMAGES_WIDER_THAN_COLUMN) == []
    before = first.inner_text()
    assert "with unit 37 set to 0" in before
    # add a second unit in the browser: the fragment reruns and the sentence changes
    picker = page.locator('[data-testid="stMultiSelect"]', has_text="Set to 0").locator("input")
    picker.click()
    picker.fill("unit 12")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    wait_idle(page)
    after = page.locator('[data-testid="stMarkdownContainer"]', has_text="Reconstruction BCE per image").first
    assert "units 12, 37 set to 0" in after.inner_text()
    assert re.search(r"→ [0-9.]+ \(\+[0-9.]+\)", after.inner_text())
    assert after.inner_text() != before
    assert "off=37%2C12" in page.url or "off=37,12" in page.url


def test_the_contraction_tab_fits_at_1280x720(server, page):
    page.goto(f"{server}/latent?model=mnist_vae2&tab=Contraction%3A+CAE+vs+plain&x=7")
    wait_idle(page)
    assert_no_exception(page, "latent, contraction tab")
    lead = page.locator('[data-testid="stMarkdownContainer"]', has_text="Over the same 500 held-out digits").first
    lead.wait_for(state="visible")
    assert lead.bounding_box()["y"] < SIZE["height"]  # the decisive sentence in the first screenful
    page.screenshot(path=str(ARTIFACTS / "latent-contraction-top-1280x720.png"))
    strip = page.locator('[data-testid="stImage"]', has_text="Contractive single layer").first
    strip.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / "latent-contraction-directions-1280x720.png"))
    assert page.evaluate(OVERFLOWING) == [] and page.evaluate(IMAGES_WIDER_THAN_COLUMN) == []
