"""The Latent page on one screen: the plane and its in-browser decode both in view without scrolling on a projector
(1280×720, sidebar open) and in an LMS iframe (1024×640, ?embed=true), for a 2-D code, a wider code and faces;
near each other on a phone; the nearest held-out image shown once; the opening sentence short."""

from __future__ import annotations

import time

import pytest

from benchmarks.harness import ARTIFACTS, assert_no_exception, wait_idle
from models.catalog import load_catalog

pytestmark = pytest.mark.browser
CATALOG = {entry.name for entry in load_catalog()}
MODELS = [name for name in ("mnist_vae2", "mnist_vae16", "olivetti_cvae2") if name in CATALOG]
FRAMES = [(1280, 720, ""), (1024, 640, "&embed=true")]
PLANE, DECODED, THUMB = "canvas.aex-plane", "canvas.aex-decoded", "canvas.aex-thumb"
MIN_DECODED = 160
MAX_PLANE, SIDE_MIN, SIDE_GAP = 560, 190, 22  # draw.js: the plane's cap, the room it leaves for the decode


def open_latent(browser, server, model: str, width: int, height: int, extra: str = "", scheme: str = "light"):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{server}/latent?model={model}{extra}")
    wait_idle(page)
    assert_no_exception(page, model)
    page.locator(PLANE).first.wait_for(timeout=60_000)
    page.wait_for_function("() => window.__aex && window.__aex.planes.size > 0")
    page.wait_for_timeout(800)  # the plane re-measures once the page above it has settled
    return context, page


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def inside(b: dict, width: int, height: int) -> bool:
    return b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["width"] <= width and b["y"] + b["height"] <= height


@pytest.mark.parametrize(("width", "height", "extra"), FRAMES)
@pytest.mark.parametrize("model", MODELS)
def test_the_plane_and_its_decode_fit_the_first_screen(server, browser, model, width, height, extra):
    context, page = open_latent(browser, server, model, width, height, extra)
    try:
        name = f"latent-fits-{model}-{width}x{height}{'-embed' if extra else ''}"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        if not extra:
            assert page.locator('[data-testid="stSidebar"]').get_attribute("data-collapsed") == "false"
        plane, decoded = box(page, PLANE), box(page, DECODED)
        assert inside(plane, width, height), (name, plane)
        assert inside(decoded, width, height), (name, decoded)
        assert decoded["width"] >= MIN_DECODED, (name, decoded)
        assert decoded["x"] >= plane["x"] + plane["width"], (name, plane, decoded)  # beside it, not under it
        # As large as the layout allows: the plane stops at its width cap or at the bottom of the screen (its
        # legend's bottom within a few pixels of the fold).
        room = box(page, ".aex").get("width") - SIDE_MIN - SIDE_GAP
        legend = box(page, ".aex-legend")
        at_fold = height - 40 <= legend["y"] + legend["height"] <= height
        assert plane["width"] >= min(MAX_PLANE, room) - 1 or at_fold, (name, plane, legend)
        # The nearest held-out image once: in the plane's panel, not again as a server picture.
        assert page.locator(THUMB).count() == 1 and page.locator(THUMB).first.is_visible()
        assert page.locator('[data-testid="stImage"]', has_text="Nearest").count() == 0
        # The opening sentence: at most three lines.
        sentence = page.locator('[data-testid="stMarkdownContainer"] p', has_text="Each dot is").first
        lines = sentence.evaluate("p => p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight)")
        assert lines <= 3.2, (name, lines)
        # Hovering over the plane decodes in the picture beside it.
        before = int(page.locator(DECODED).first.get_attribute("data-count"))
        page.mouse.move(plane["x"] + plane["width"] * 0.3, plane["y"] + plane["height"] * 0.4)
        page.mouse.move(plane["x"] + plane["width"] * 0.6, plane["y"] + plane["height"] * 0.5)
        page.wait_for_function(f"() => Object.values(window.__aex.stats).some((s) => s.decodes > {before})")
    finally:
        context.close()


def test_a_wide_screen_keeps_both_in_view_and_a_phone_keeps_the_decode_near_the_plane(server, browser):
    context, page = open_latent(browser, server, "mnist_vae2", 1440, 900)
    try:
        page.screenshot(path=str(ARTIFACTS / "latent-fits-mnist_vae2-1440x900.png"))
        plane, decoded = box(page, PLANE), box(page, DECODED)
        assert inside(plane, 1440, 900) and inside(decoded, 1440, 900), (plane, decoded)
        assert plane["width"] >= 500 and decoded["width"] >= 200, (plane, decoded)
    finally:
        context.close()
    context, page = open_latent(browser, server, "mnist_vae2", 390, 844)
    try:
        page.screenshot(path=str(ARTIFACTS / "latent-fits-mnist_vae2-390x844.png"))
        plane, decoded = box(page, PLANE), box(page, DECODED)
        assert inside(plane, 390, 844) and plane["width"] >= 300, plane  # the phone's width, on its first screen
        assert 0 < decoded["y"] - (plane["y"] + plane["height"]) < 150, (plane, decoded)  # just under the plane
        assert decoded["x"] >= 0 and decoded["x"] + decoded["width"] <= 390 and decoded["width"] >= MIN_DECODED
        page.locator(DECODED).first.evaluate("c => c.scrollIntoView({block: 'center'})")
        assert inside(box(page, DECODED), 390, 844)  # reachable
        page.screenshot(path=str(ARTIFACTS / "latent-fits-mnist_vae2-390x844-scrolled.png"))
    finally:
        context.close()


# Something above the plane grows (a picture or formula arriving late) without changing the plane's width: a block
# `px` tall, which moves the plane down by that and the gap between blocks.
GROW_ABOVE = """px => {
  const above = document.createElement('div');
  above.id = 'aex-test-above';
  above.style.height = `${px}px`;
  document.querySelector('[data-testid="stMain"] h1').closest('[data-testid="stElementContainer"]').after(above);
}"""


def width_becomes(page, wanted, seconds: float = 5.0) -> None:
    """Until the plane's width on the screen is `wanted` (the canvas sits in a shadow root, which only a locator
    reaches)."""
    deadline = time.monotonic() + seconds
    while not wanted(width := box(page, PLANE)["width"]):
        assert time.monotonic() < deadline, f"the plane stayed {width} px wide"
        page.wait_for_timeout(50)


def test_the_plane_refits_when_the_page_above_it_grows_after_it_is_drawn(server, browser):
    """On a slow server the page above the plane can still grow after the plane has measured its room (a run's
    later pieces arrive late): the plane and its legend must still end on the first screen, and take the room back
    when the page above shrinks again."""
    context, page = open_latent(browser, server, "mnist_vae2", 1280, 720)
    try:
        legend, plane = box(page, ".aex-legend"), box(page, PLANE)
        assert 720 - 40 <= legend["y"] + legend["height"] <= 720, legend  # the screen's height sets its size here
        page.evaluate(GROW_ABOVE, 40)
        width_becomes(page, lambda width: width < plane["width"] - 30)
        grown = box(page, ".aex-legend")  # a narrower plane can wrap its legend onto another line
        assert 720 - 40 <= grown["y"] + grown["height"] <= 720, (grown, box(page, PLANE))  # on the screen, at its foot
        page.evaluate("() => document.getElementById('aex-test-above').remove()")
        width_becomes(page, lambda width: width == plane["width"])
    finally:
        context.close()
