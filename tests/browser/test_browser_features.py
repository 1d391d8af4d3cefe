"""The two questions' sections of the Features page in the real browser, at two laptop viewports: screenshots of
each section (look at them in test-artifacts/) and checks that no table, formula or text overflows its column."""

from __future__ import annotations

import pytest

from benchmarks.harness import ARTIFACTS, assert_no_exception, wait_idle

pytestmark = pytest.mark.browser
SECTIONS = {
    "decodings": "(b) Decode with f, or undo the encoder with f⁻¹?",
    "reactivation": "Reactivating one unit: eᵢ through f, or through f⁻¹?",
    "tied": "(a) Why learn W′ instead of tying W′ = Wᵀ?",
}
# Elements whose content is wider than their box (scrollWidth > clientWidth) would be cut off or scroll sideways.
# Measured with every expander open, and only those with text on the screen: a rule (<hr>) or a picture alone has
# no text to cut off (pictures are IMAGES_WIDER_THAN_COLUMN's), and CI once flagged such an empty container.
OVERFLOWING = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const boxes = main.querySelectorAll('[data-testid="stTable"], .katex-display, [data-testid="stMarkdownContainer"],'
                                      + ' [data-testid="stCaptionContainer"]');
  return [...boxes].filter(e => e.innerText.trim() !== '' && e.scrollWidth > e.clientWidth + 1)
                   .map(e => `${e.dataset.testid || e.className} ${e.scrollWidth}/${e.clientWidth}: `
                             + e.innerText.slice(0, 60));
}"""
IMAGES_WIDER_THAN_COLUMN = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img')]
  .filter(img => img.getBoundingClientRect().width > img.closest('[data-testid="stColumn"], [data-testid="stMain"]')
                 .getBoundingClientRect().width + 1)
  .map(img => img.alt || img.src.slice(-20))"""


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (1280, 720)])
def test_question_sections_fit_their_columns_at_laptop_sizes(server, browser, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(f"{server}/features?left=mnist_tied100&right=mnist_untied100")
        wait_idle(page)
        assert_no_exception(page, f"features at {width}×{height}")
        page.screenshot(path=str(ARTIFACTS / f"features-top-{width}x{height}.png"))
        # the key picture, the decoder columns: at least half of it in the first screenful, under its sentence
        box = page.locator('[data-testid="stMain"] [data-testid="stImage"] img').first.bounding_box()
        assert height - box["y"] >= box["height"] / 2, box
        assert page.get_by_role("tab", name="Decoder columns w′ᵢ").get_attribute("aria-selected") == "true"
        for name, title in SECTIONS.items():
            heading = page.get_by_role("heading", name=title).first
            heading.evaluate("h => h.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(400)
            assert heading.is_visible()
            page.screenshot(path=str(ARTIFACTS / f"features-{name}-{width}x{height}.png"))
        # the decodings table and the findings are one click away, in the details under the section's pictures
        details = page.locator('[data-testid="stExpander"] summary', has_text="the table and what each number means")
        details.click()
        table = page.locator('[data-testid="stTable"]', has_text="W⁺(f⁻¹(h) − b)").first
        table.wait_for(state="visible")
        table.evaluate("t => t.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(400)
        page.screenshot(path=str(ARTIFACTS / f"features-decodings-details-{width}x{height}.png"))
        # every other detail opened too, so all the page's text is on the screen when it is measured
        folded = page.locator('[data-testid="stMain"] details:not([open]) > summary')
        for _ in range(folded.count()):
            folded.first.click()
        wait_idle(page)
        assert page.locator('[data-testid="stMain"] details:not([open])').count() == 0
        assert page.evaluate(OVERFLOWING) == []
        assert page.evaluate(IMAGES_WIDER_THAN_COLUMN) == []
        # the decodings table: 8 rows (4 decodings × 2 models), every one of its 7 figures shown
        table = page.locator('[data-testid="stTable"]', has_text="W⁺(f⁻¹(h) − b)").first
        assert table.locator("tbody tr").count() == 8
        assert "W⁺(f⁻¹(h) − b)" in table.inner_text()
    finally:
        context.close()
