"""Offline-clean: visiting every page makes no request to any host but the app's own, and no URL in a page (the
favicon included, which headless Chromium may never fetch) points elsewhere. A classroom without internet, or a
hosted demo behind a strict proxy, must see the same app."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.test_browser import PAGES, assert_no_exception, browser, server, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser
APP_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about"}  # inline content: nothing leaves the browser
PROBE = "http://offhost.invalid/probe.png"  # .invalid never resolves: the probe sends nothing anywhere

# Every URL the document refers to: icons, stylesheets, scripts, images, frames, media, and url(...) in styles.
DOCUMENT_URLS_JS = """() => {
  const urls = [];
  for (const el of document.querySelectorAll('link[href], script[src], img[src], iframe[src], source[src], '
                                             + 'video[src], audio[src], embed[src], object[data]')) {
    urls.push(el.href || el.src || el.data);
  }
  for (const el of document.querySelectorAll('[style*="url("]')) {
    for (const m of el.getAttribute('style').matchAll(/url\\(["']?([^"')]+)/g)) urls.push(new URL(m[1], location).href);
  }
  return urls.filter(Boolean);
}"""


def off_host(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in LOCAL_SCHEMES and parts.hostname not in APP_HOSTS


@pytest.fixture
def recorded(browser):  # noqa: F811
    """A fresh browser context and every request (and websocket) any of its pages makes: (page, url)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    seen: list[tuple[str, str]] = []
    where = {"page": "?"}
    context.on("request", lambda request: seen.append((where["page"], request.url)))
    page = context.new_page()
    page.on("websocket", lambda ws: seen.append((where["page"], ws.url)))
    yield page, seen, where
    context.close()


def test_no_page_requests_or_refers_to_another_host(server, recorded):  # noqa: F811
    page, seen, where = recorded
    referred: list[tuple[str, str]] = []
    for name in PAGES:
        where["page"] = f"/{name}"
        page.goto(f"{server}/{name}")
        wait_idle(page)
        assert_no_exception(page, where["page"])
        page.wait_for_timeout(1000)  # late loads: fonts, the favicon, lazily loaded chunks
        referred += [(where["page"], url) for url in page.evaluate(DOCUMENT_URLS_JS)]
    app_requests = [url for _, url in seen if not off_host(url)]
    assert any("/_stcore/stream" in url for url in app_requests), "the app's websocket was not seen"
    assert any(url.endswith(".js") for url in app_requests), "the app's scripts were not seen"
    assert [(p, url) for p, url in seen if off_host(url)] == []
    assert [(p, url) for p, url in referred if off_host(url)] == []

    # The recorder sees a request that page code makes to another host (so the empty lists above mean something).
    page.evaluate("url => { new Image().src = url; }", PROBE)
    page.wait_for_timeout(500)
    assert (where["page"], PROBE) in seen


def test_favicon_is_served_by_the_app_or_inline(server, recorded):  # noqa: F811
    page, _, _ = recorded
    page.goto(f"{server}/latent")
    wait_idle(page)
    icons = page.evaluate("() => [...document.querySelectorAll('link[rel~=\"icon\"]')].map(l => l.href)")
    assert icons and not [url for url in icons if off_host(url)], icons
