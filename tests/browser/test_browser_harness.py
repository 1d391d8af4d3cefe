"""The harness's wait (benchmarks/harness.py, wait_idle) on a slow browser: every test reads the page it returns."""

from __future__ import annotations

import pytest

from benchmarks.harness import wait_idle

pytestmark = pytest.mark.browser
# A MutationObserver from the page's first byte: did Streamlit ever show its placeholder for an element whose code
# was still loading?
SKELETON_SEEN = """
window.__skeletons = 0;
new MutationObserver(() => { if (document.querySelector('[data-testid="stSkeleton"]')) window.__skeletons += 1; })
  .observe(document, {subtree: true, childList: true});
"""
PICTURES = '[data-testid="stMain"] [data-testid="stImage"] img'


def test_wait_idle_on_a_slow_browser_returns_only_once_every_element_is_drawn(server, browser):
    """CI failed once on the Features page with the decodings picture drawn and the grids above it not yet: at
    notRunning a slow browser still showed placeholders for the image code it was fetching. Eight times slower
    here, the old wait returned with all 30 of the Reconstructions page's placeholders left, three times in three."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(SKELETON_SEEN)
    page = context.new_page()
    try:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 8})
        page.goto(f"{server}/reconstructions")
        wait_idle(page)
        # the browser did show placeholders, so the wait names what Streamlit calls them; none is left at its return
        assert page.evaluate("window.__skeletons") > 0
        assert page.locator('[data-testid="stSkeleton"]').count() == 0
        drawn = page.locator(PICTURES).count()
        assert drawn > 0
        page.wait_for_timeout(2000)
        assert page.locator(PICTURES).count() == drawn  # nothing was still to come
    finally:
        context.close()
