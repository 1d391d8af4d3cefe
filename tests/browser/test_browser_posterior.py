"""The VAE's posterior and the interpolation's ends in the real browser: the ellipse switch draws one 1-σ ellipse per
held-out code; a pinned held-out image shows draws z = μ + σ ⊙ ε made in the browser (Box–Muller from a seeded
PRNG), unlike the mean's decode and new on "New draw"; a plain AE's says its code is a point; and two clicks on the
Interpolation tab's plane set A and B in the URL."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from benchmarks.harness import ARTIFACTS, assert_no_exception, wait_idle
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from tests.browser.test_browser_latent_fits import open_latent

pytestmark = pytest.mark.browser
CATALOG = {entry.name: entry for entry in load_catalog()}
VAE2, VAE16, AE2 = "mnist_vae2", "mnist_vae16", "mnist_ae2"
PLANE, SAMPLE = "canvas.aex-plane", "canvas.aex-sample"
SPREAD = ".aex-spread input"
needs = pytest.mark.skipif


@contextlib.contextmanager
def latent(browser, server, model: str, extra: str = ""):
    """The Latent page at 1280×720 with the sidebar open, as on a projector."""
    context, page = open_latent(browser, server, model, 1280, 720, extra)
    try:
        yield page
    finally:
        context.close()


def plane_stats(page) -> dict:
    return page.evaluate("() => { const p = [...window.__aex.planes.values()][0]; "
                         "return {n: p.n, ellipses: p.stats.ellipses, posterior: p.stats.posterior}; }")


def params(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def click_code(page, index: int) -> None:
    """A click on the dot of held-out image `index`."""
    x, y = page.evaluate("""(i) => { const p = [...window.__aex.planes.values()][0];
        const [px, py] = p.toPixel(p.b.xy[2 * i], p.b.xy[2 * i + 1]);
        const r = p.canvas.getBoundingClientRect(); return [r.x + px, r.y + py]; }""", index)
    page.mouse.click(x, y)
    wait_idle(page)
    page.mouse.move(1, 1)  # off the plane: the decode beside it shows the pin again


def empty_spots(page) -> list[list[float]]:
    """Two points of the plot area far from every held-out code (a click there pins a point, not an image), 60 px
    or more apart, in page coordinates."""
    return page.evaluate("""() => { const p = [...window.__aex.planes.values()][0];
        const r = p.canvas.getBoundingClientRect(); const [x0, x1, y0, y1] = p.plane.extent; const spots = [];
        for (let i = 1; i < 20; i++) for (let j = 1; j < 20; j++) {
            const [px, py] = p.toPixel(x0 + (x1 - x0) * i / 20, y0 + (y1 - y0) * j / 20);
            let d = Infinity;
            for (let k = 0; k < p.n; k++) {
                const [qx, qy] = p.toPixel(p.b.xy[2 * k], p.b.xy[2 * k + 1]);
                d = Math.min(d, Math.hypot(qx - px, qy - py));
            }
            spots.push([d, px, py]);
        }
        spots.sort((a, b) => b[0] - a[0]);
        const first = spots[0];
        const second = spots.find((s) => Math.hypot(s[1] - first[1], s[2] - first[2]) >= 60);
        return [first, second].map(([, px, py]) => [r.x + Math.round(px), r.y + Math.round(py)]); }""")


def pictures(page) -> list[str]:
    return page.locator(SAMPLE).evaluate_all("cs => cs.map((c) => c.toDataURL())")


@needs(VAE2 not in CATALOG or VAE16 not in CATALOG, reason="needs mnist_vae2 and mnist_vae16")
def test_the_ellipse_switch_draws_one_ellipse_per_held_out_code(server, browser):
    with latent(browser, server, VAE2) as page:
        before = page.locator(PLANE).first.evaluate("c => c.toDataURL()")
        assert plane_stats(page)["ellipses"] == 0
        page.locator(SPREAD).first.click()  # the switch in the plane's legend: drawn at once, in the browser
        page.wait_for_function("() => [...window.__aex.planes.values()][0].stats.ellipses > 0")
        wait_idle(page)  # and Python keeps it in the URL
        page.wait_for_function("() => [...window.__aex.planes.values()][0].stats.ellipses > 0")
        found = plane_stats(page)
        assert found["ellipses"] == found["n"] == 500
        assert page.locator(PLANE).first.evaluate("c => c.toDataURL()") != before
        assert params(page)["posterior"] == "ellipses"
        page.screenshot(path=str(ARTIFACTS / "latent-posterior-ellipses.png"))
    with latent(browser, server, VAE16, "&posterior=ellipses") as page:  # projected onto PC1–PC2
        found = plane_stats(page)
        assert found["ellipses"] == found["n"] == 500
        assert page.locator(SPREAD).first.is_checked()


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_pinned_images_draws_are_mu_plus_sigma_eps_unlike_the_mean_and_new_on_new_draw(server, browser, mnist):
    model = load_checkpoint(CATALOG[VAE2].path)[0]
    with torch.no_grad():
        mu, logvar = model.encode_stats(mnist.test)
    sigma = torch.exp(0.5 * logvar)
    index = int(sigma.sum(1).argmax())  # the image the encoder is least sure of: its draws differ the most
    with latent(browser, server, VAE2) as page:
        click_code(page, index)
        page.wait_for_function("() => [...window.__aex.planes.values()][0].stats.posterior !== null")
        posterior = plane_stats(page)["posterior"]
        assert posterior["index"] == index and posterior["draw"] == 1
        assert np.allclose(posterior["mu"], mu[index].numpy(), atol=1e-6)
        assert np.allclose(posterior["sigma"], sigma[index].numpy(), atol=1e-6)
        eps = np.array([d["eps"] for d in posterior["draws"]])
        z = np.array([d["z"] for d in posterior["draws"]])
        assert eps.shape == (6, 2) and np.allclose(z, mu[index].numpy() + sigma[index].numpy() * eps, atol=1e-5)
        first = pictures(page)  # x, the mean's decode, then six draws
        assert len(first) == 8 and all(p != first[1] for p in first[2:]) and len(set(first[2:])) == 6
        panel = page.locator(".aex-posterior").first.inner_text()
        assert f"#{index}" in panel and "z = μ + σ ⊙ ε" in panel and "ε = (" in panel
        page.screenshot(path=str(ARTIFACTS / "latent-posterior-pinned.png"))
        page.get_by_role("button", name="New draw").click()
        page.wait_for_function("() => [...window.__aex.planes.values()][0].stats.posterior.draw === 2")
        again = pictures(page)
        assert again[:2] == first[:2] and all(a != b for a, b in zip(again[2:], first[2:]))
        assert not np.allclose([d["eps"] for d in plane_stats(page)["posterior"]["draws"]], eps)


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_the_browsers_eps_are_standard_normal(server, browser):
    """Box–Muller from the seeded PRNG: 24,000 values over 2,000 draws pass a Kolmogorov–Smirnov test against
    N(0, 1), and the same image and draw give the same ε."""
    with latent(browser, server, VAE2) as page:
        values = np.array(page.evaluate("""() => { const p = [...window.__aex.planes.values()][0]; const out = [];
            for (let draw = 1; draw <= 2000; draw++) out.push(...p.epsilon(7, draw)); return out; }"""))
        assert values.shape == (24_000,)
        assert abs(values.mean()) < 4 / np.sqrt(len(values)) and abs(values.std() - 1) < 0.02
        assert scipy_stats.kstest(values, "norm").pvalue > 1e-3
        same = page.evaluate("() => { const p = [...window.__aex.planes.values()][0]; "
                             "return [Array.from(p.epsilon(3, 5)), Array.from(p.epsilon(3, 5)), "
                             "Array.from(p.epsilon(4, 5))]; }")
        assert same[0] == same[1] and same[0] != same[2]


@needs(AE2 not in CATALOG, reason="needs mnist_ae2")
def test_a_plain_aes_pinned_image_is_a_point_not_a_cloud(server, browser):
    with latent(browser, server, AE2) as page:
        click_code(page, 5)
        page.wait_for_function("() => [...window.__aex.planes.values()][0].stats.posterior !== null")
        assert "a point, not a cloud" in page.locator(".aex-posterior").first.inner_text()
        assert plane_stats(page)["posterior"]["draws"] == []
        assert page.locator(f"{SAMPLE}:visible").count() == 1  # the image itself, and no draws
        assert page.get_by_role("button", name="New draw").is_hidden()
        assert page.locator(SPREAD).count() == 0  # no σ, so no ellipses to switch on


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_two_clicks_on_the_interpolation_plane_set_a_and_b_in_the_url(server, browser):
    with latent(browser, server, VAE2, "&tab=Interpolation") as page:
        clicked = []
        for x, y in empty_spots(page):
            # Where the click lands on the plane, and one screen pixel there in plane units (the event's offset
            # is whole pixels).
            clicked.append(page.evaluate("""([x, y]) => { const p = [...window.__aex.planes.values()][0];
                const r = p.canvas.getBoundingClientRect(); const [px, py] = p.toPlane(x - r.x, y - r.y);
                const [qx, qy] = p.toPlane(x - r.x + 1, y - r.y + 1);
                return [px, py, Math.abs(qx - px), Math.abs(qy - py)]; }""", [x, y]))
            page.mouse.click(x, y)
            wait_idle(page)
        assert_no_exception(page, "after two clicks")
        url = params(page)
        for key, (px, py, dx, dy) in zip(("a", "b"), clicked):
            ux, uy = (float(v) for v in url[key].split(","))
            assert abs(ux - px) <= dx and abs(uy - py) <= dy, (key, url[key], px, py)
        page.mouse.move(1, 1)
        page.screenshot(path=str(ARTIFACTS / "latent-interpolation-ab.png"))
    with latent(browser, server, VAE2, f"&tab=Interpolation&a={url['a']}&b={url['b']}") as page:  # the link
        labels = page.evaluate("() => [...window.__aex.planes.values()][0].overlays.filter((o) => o.point)"
                               ".map((o) => [o.label, o.point])")
        assert [label for label, _ in labels] == ["A", "B"]
        for (_, point), key in zip(labels, ("a", "b")):
            assert point == pytest.approx([float(v) for v in url[key].split(",")], abs=1e-6)
