"""A phone (390×844) and the Reconstructions plane: the gallery two pairs a line, one page of eight at a time, so
the page stays short; a tap on the plane keeps its decode in view; no page scrolls sideways; and the plane of a
user's own image opens pinned at that image's code, on a phone and on a projector (1280×720)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.harness import ARTIFACTS, PAGES, assert_no_exception, wait_idle
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.data import load_dataset, photos

pytestmark = pytest.mark.browser
CATALOG = {entry.name: entry for entry in load_catalog()}
PHONE = (390, 844)
# px, the Reconstructions page at 390×844: 4,982 (MNIST) and 6,345 (faces, 128-px pairs) before it was paged
MAX_RECON_HEIGHT = {"mnist_cae16": 2500, "olivetti_cae32": 2900}
PLANE, DECODED, READOUT = "canvas.aex-plane", "canvas.aex-decoded", ".aex-readout"
VAE2 = "mnist_vae2"


def open_page(browser, server, path: str, size=PHONE, touch: bool = False):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, has_touch=touch)
    page = context.new_page()
    page.goto(f"{server}/{path}")
    wait_idle(page)
    assert_no_exception(page, path)
    return context, page


def main_height(page) -> int:
    return page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")


def wait_gallery(page, count: int) -> None:
    """Until all `count` pair pictures are in the page and loaded (a rerun's end can come before the last of them)."""
    page.wait_for_function("""(n) => { const imgs = document.querySelectorAll('.st-key-recon_gallery img');
        return imgs.length === n && [...imgs].every((img) => img.complete); }""", arg=count)
    page.wait_for_timeout(500)  # the layout settles (the sidebar's opening slide on a wide screen)


def shown_pairs(page) -> list[dict]:
    """The gallery's pair pictures a reader can see: their source and where they sit."""
    return page.evaluate("""() => [...document.querySelectorAll('.st-key-recon_gallery img')]
        .filter((img) => img.offsetParent !== null)
        .map((img) => { const b = img.getBoundingClientRect(); return {src: img.src, x: b.x, y: b.y}; })""")


@pytest.mark.parametrize("model", [name for name in MAX_RECON_HEIGHT if name in CATALOG])
def test_the_gallery_on_a_phone_is_two_columns_paged_and_the_page_short(server, browser, model):
    context, page = open_page(browser, server, f"reconstructions?model={model}&n=16")
    try:
        wait_gallery(page, 16)
        page.screenshot(path=str(ARTIFACTS / f"phone-reconstructions-{model}.png"))
        height = main_height(page)
        assert height < MAX_RECON_HEIGHT[model], height
        first = shown_pairs(page)
        assert len(first) == 8  # one page of eight out of sixteen
        assert len({round(p["x"]) for p in first}) == 2 and len({round(p["y"]) for p in first}) == 4
        page.locator(".st-key-recon_page button", has_text="9–16").click()
        wait_idle(page)
        wait_gallery(page, 16)
        assert "page=2" in page.url
        second = shown_pairs(page)
        assert len(second) == 8 and not {p["src"] for p in first} & {p["src"] for p in second}
        assert main_height(page) < MAX_RECON_HEIGHT[model]
    finally:
        context.close()


def test_a_wide_screen_shows_every_row_and_no_pager(server, browser):
    context, page = open_page(browser, server, "reconstructions?n=16&page=2", size=(1280, 720))
    try:
        wait_gallery(page, 16)
        pairs = shown_pairs(page)
        assert len(pairs) == 16 and len({round(p["x"]) for p in pairs}) == 8  # two rows of eight, as before
        assert not page.locator(".st-key-recon_page").is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(server, browser, path):
    """With every expander open (the Features tables sit in them): nothing in the main block scrolls sideways or
    reaches past the screen's right edge (MathML kept for screen readers and a chart's inner SVG excepted)."""
    context, page = open_page(browser, server, path)
    try:
        summaries = page.locator('[data-testid="stMain"] [data-testid="stExpander"] summary')
        for i in range(summaries.count()):
            summaries.nth(i).click()
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / f"phone-{path or 'home'}.png"))
        wide = page.evaluate("""() => {
            const block = document.querySelector('[data-testid=stMainBlockContainer]');
            const found = block.scrollWidth > block.clientWidth ? ['main block'] : [];
            for (const e of block.querySelectorAll('*')) {
                if (e.closest('svg, .katex-mathml') || e.offsetParent === null && e.tagName !== 'BODY') continue;
                const scrolls = /auto|scroll/.test(getComputedStyle(e).overflowX);
                const right = e.getBoundingClientRect().right;
                if ((scrolls && e.scrollWidth > e.clientWidth + 1) || right > innerWidth + 1) {
                    found.push(`${e.tagName}.${e.className} ${e.scrollWidth}/${e.clientWidth} right ${right}`);
                }
            }
            return found;
        }""")
        assert wide == [], (path, wide[:5])
    finally:
        context.close()


# --- the user's own image ---------------------------------------------------------------------------------
def held_out_three() -> tuple[bytes, torch.Tensor]:
    """A held-out MNIST "3" as a PNG upload, and the input the page makes of it (photos.prepare_upload)."""
    data = load_dataset("mnist", source="bundled")
    index = int(np.flatnonzero(data.test_labels.numpy() == 3)[0])
    buffer = io.BytesIO()
    Image.fromarray((data.test[index, 0].numpy() * 255).astype(np.uint8)).save(buffer, format="PNG")
    x, _, _ = photos.prepare_upload(buffer.getvalue(), "three.png", (1, 28, 28), digits=True)
    return buffer.getvalue(), x


def upload(page, png: bytes) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": "three.png", "mimeType": "image/png", "buffer": png}])
    wait_idle(page)
    page.locator(PLANE).first.wait_for(timeout=60_000)
    # The plane lives in a shadow root: reach it through the page's registry of planes (plane.js).
    page.wait_for_function("() => window.__aex && [...window.__aex.planes.values()].some((p) => p.decoded.dataset.z)")
    page.wait_for_timeout(500)


def decoded_z(page) -> list[float]:
    return [float(v) for v in page.locator(DECODED).first.get_attribute("data-z").split(",")]


@pytest.mark.skipif(VAE2 not in CATALOG, reason="needs mnist_vae2")
@pytest.mark.parametrize("size", [PHONE, (1280, 720)], ids=["phone", "projector"])
def test_the_plane_opens_pinned_at_the_uploaded_images_code(server, browser, size):
    png, x = held_out_three()
    model = load_checkpoint(CATALOG[VAE2].path)[0]
    with torch.no_grad():
        code = model.embed(x)[0].tolist()
    context, page = open_page(browser, server, f"reconstructions?model={VAE2}", size=size)
    try:
        upload(page, png)
        page.locator(PLANE).first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"own-code-{size[0]}x{size[1]}.png"))
        assert decoded_z(page) == pytest.approx(code, abs=1e-3)  # the big decode is the image's code
        readout = page.locator(READOUT).first.inner_text()
        assert readout == f"z = ({code[0]:.2f}, {code[1]:.2f}) · your image's code", readout
        caption = page.locator('[data-testid="stCaptionContainer"]', has_text="Nearest to your image's code z")
        assert f"({code[0]:.2f}, {code[1]:.2f})" in caption.first.inner_text()
    finally:
        context.close()


@pytest.mark.skipif(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_tap_on_the_plane_keeps_its_decode_in_view_on_a_phone(server, browser):
    png, _ = held_out_three()
    context, page = open_page(browser, server, f"reconstructions?model={VAE2}", touch=True)
    try:
        upload(page, png)
        # The plane in view, its decode under it below the fold, as when a reader scrolls down to the plane.
        page.locator(PLANE).first.evaluate("c => c.scrollIntoView({block: 'start'})")
        page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollBy(0, -320)")
        page.wait_for_timeout(300)
        plane, decoded = (page.locator(s).first.bounding_box() for s in (PLANE, DECODED))
        assert plane["y"] + plane["height"] * 0.8 < PHONE[1]  # the tap's target is on screen
        assert decoded["y"] + decoded["height"] > PHONE[1], decoded  # the decode starts below the fold
        page.touchscreen.tap(plane["x"] + plane["width"] * 0.6, plane["y"] + plane["height"] * 0.8)
        page.wait_for_function("() => [...window.__aex.planes.values()].every((p) => p.pinName() === 'pinned')")
        wait_idle(page)
        decoded, readout = (page.locator(s).first.bounding_box() for s in (DECODED, READOUT))
        assert decoded["y"] >= 0 and decoded["y"] + decoded["height"] <= PHONE[1], decoded
        assert readout["y"] + readout["height"] <= PHONE[1], readout  # and the z it shows
        assert re.fullmatch(r"z = \(-?[\d.]+, -?[\d.]+\) · pinned", page.locator(READOUT).first.inner_text())
        page.screenshot(path=str(ARTIFACTS / "phone-own-code-after-tap.png"))
    finally:
        context.close()
