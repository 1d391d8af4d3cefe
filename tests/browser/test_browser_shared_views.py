"""Every view is in the URL: random views of the four picture pages, as a user could share them, each opened
in a fresh browser and then again from the URL it settled on, show the same pictures, planes and values."""

from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest

from benchmarks.harness import ARTIFACTS, assert_no_exception, wait_idle
from models.catalog import load_catalog
from tests.browser.test_browser_classroom import MAIN_IMAGES, params, sidebar_model
from ui.features.plots import VIEWS

pytestmark = pytest.mark.browser
CATALOG = {entry.name: entry for entry in load_catalog()}


def _view_states(count: int, seed: int = 11) -> list[str]:
    """Random views of the four picture pages, as a user could share them."""
    rng = random.Random(seed)
    mnist = [n for n, e in CATALOG.items() if e.dataset == "mnist"]
    two_d = [n for n in CATALOG if CATALOG[n].dataset == "mnist" and CATALOG[n].latent == 2]
    single = [n for n in mnist if n.endswith("100")]
    states = []
    for _ in range(count):
        page = rng.choice(["reconstructions", "denoising", "features", "latent"])
        q: dict[str, object] = {}
        if page == "reconstructions":
            q = dict(model=rng.choice([*mnist, "olivetti_cae32"]), seed=rng.randrange(1000), n=rng.choice([8, 12, 20]),
                     input=rng.choice(["Upload an image", "Draw a digit"]))
            if CATALOG[q["model"]].dataset == "mnist":
                q["class"] = rng.choice(["all", *"0123456789"])
        elif page == "denoising":
            q = dict(model=rng.choice(mnist), dae=rng.choice(mnist), plain=rng.choice(mnist),
                     noise=rng.choice(["gaussian", "masking", "salt_pepper"]), level=rng.choice([0.1, 0.35, 0.6]))
        elif page == "features":
            q = dict(left=rng.choice(single), right=rng.choice(single), tab=rng.choice(list(VIEWS.values())),
                     unit=rng.randrange(100), soft=rng.choice(["0.1", "0.01", "0.001"]))
        else:
            tab = rng.choice(["Manifold", "Interpolation", "Samples from the prior", "Holes: AE vs VAE"])
            q = dict(model=rng.choice([*two_d, "mnist_vae16", "olivetti_cvae2"]), tab=tab)
            if tab == "Manifold":
                q.update(z1=round(rng.uniform(-2, 2), 2), z2=round(rng.uniform(-2, 2), 2), grid=rng.randrange(5, 26))
            elif tab == "Interpolation":
                q.update(a=rng.randrange(60), b=rng.randrange(60), steps=rng.randrange(3, 17),
                         method=rng.choice(["linear", "slerp"]))
            elif tab == "Samples from the prior":
                q.update(seed=rng.randrange(1000))
            else:
                q.update(region=rng.choice(["spread", "square"]))
        if rng.random() < 0.3:
            q["present"] = 1
        states.append(f"{page}?{urlencode(q)}")
    return states


def _view(page) -> dict:
    """What a view shows once it has settled: its pictures (the media store names a file by its content), the
    latent plane's and the in-browser decode's pixels, every widget's value, and the URL."""
    planes = page.locator("canvas.aex-plane").count()
    if planes:  # the plane draws once its payload has arrived and been read
        page.wait_for_function(f"() => window.__aex && window.__aex.planes.size >= {planes}", timeout=60_000)
    view, stable = _snapshot(page), 0
    for _ in range(30):  # images mount a moment after a run; settled when three looks a while apart agree
        page.wait_for_timeout(500)
        again = _snapshot(page)
        stable = stable + 1 if again == view else 0
        if stable == 2:
            return view
        view = again
    return view


def _snapshot(page) -> dict:
    return {
        "url": params(page.url),
        "images": page.locator(MAIN_IMAGES).evaluate_all("els => els.map(e => new URL(e.src).pathname)"),
        "canvases": page.locator("canvas.aex-plane, canvas.aex-decoded").evaluate_all(
            "els => els.map(c => c.toDataURL())"),
        "values": page.locator('[data-testid="stMain"] input').evaluate_all("els => els.map(e => e.value)"),
        "sidebar": sidebar_model(page),
    }


NO_SCROLLBARS = """document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '*::-webkit-scrollbar { display: none; } * { scrollbar-width: none; }';
  document.head.appendChild(style);
});"""


VIEWS_SHARED = _view_states(20)


@pytest.mark.parametrize("i", range(len(VIEWS_SHARED)))
def test_a_random_view_comes_back_the_same_in_a_fresh_browser(server, browser, i):
    state = VIEWS_SHARED[i]
    shown = []
    for attempt in range(2):
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        # The plane sizes its canvas once, when it mounts; whether the page already had a scrollbar then
        # depends on timing and changes the canvas by its width. Without scrollbars the layout does not.
        context.add_init_script(NO_SCROLLBARS)
        page = context.new_page()
        try:
            page.goto(f"{server}/{state}" if attempt == 0 else shown[0]["link"])  # the URL it settled on
            wait_idle(page)
            assert_no_exception(page, state)
            view = _view(page)
            view["link"] = page.url
            if attempt == 0:
                page.screenshot(path=str(ARTIFACTS / f"classroom-view-{i:02d}.png"))
            shown.append(view)
        finally:
            context.close()
    first, again = ({k: v for k, v in view.items() if k != "link"} for view in shown)
    assert first["images"] or first["canvases"], state
    assert again == first, state
