"""The latent plane in the real browser: it decodes under the pointer with no server round trip, a click pins z
in the sliders and the URL, arrow keys move the pin, and its in-browser decoder matches torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.harness import ARTIFACTS, assert_no_exception, wait_idle
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint

pytestmark = pytest.mark.browser
CATALOG = {entry.name: entry for entry in load_catalog()}
PLANE = "canvas.aex-plane"
DECODED = "canvas.aex-decoded"
PARITY_CODES = 50
PARITY_TOLERANCE = 1e-4


def open_latent(page, server, model: str, query: str = "") -> dict:
    page.goto(f"{server}/latent?model={model}{query}")
    wait_idle(page)
    assert_no_exception(page, model)
    page.locator(PLANE).first.wait_for(timeout=30_000)
    page.wait_for_function("() => window.__aex && window.__aex.planes.size > 0")
    return page.locator(PLANE).first.bounding_box()


def count_sent(page) -> list:
    """Every websocket frame the page sends from now on (a rerun request is one)."""
    sent: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    return sent


def decoded(page) -> tuple[str, int, str]:
    """The in-browser decode: its z, how many decodes so far, and its pixels."""
    canvas = page.locator(DECODED).first
    return (canvas.get_attribute("data-z"), int(canvas.get_attribute("data-count")),
            canvas.evaluate("c => c.toDataURL()"))


def slider_value(page, name: str) -> float:
    return float(page.get_by_role("slider", name=name).first.get_attribute("aria-valuetext")
                 or page.get_by_role("slider", name=name).first.input_value())


def test_hovering_decodes_in_the_browser_without_the_server(server, page):
    sent = count_sent(page)
    box = open_latent(page, server, "mnist_vae2")
    page.wait_for_timeout(500)
    before = decoded(page)
    frames = len(sent)
    seen = set()
    for i in range(30):
        page.mouse.move(box["x"] + box["width"] * (0.2 + 0.02 * i), box["y"] + box["height"] * (0.7 - 0.015 * i))
        page.wait_for_timeout(25)
        seen.add(decoded(page)[2])
    after = decoded(page)
    assert len(sent) == frames, "hovering sent messages to the server"
    assert after[1] > before[1] and after[0] != before[0] and after[2] != before[2]
    assert len(seen) > 10  # the picture morphs as the pointer moves
    assert "Nearest held-out image: #" in page.locator(".aex-nearest-text").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "latent-hover.png"), full_page=True)


def test_the_model_is_sent_once_not_on_every_rerun(server, page):
    received: list = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(len(frame))))
    open_latent(page, server, "mnist_vae2")
    first = sum(received)
    assert first > 2_000_000  # the decoder's weights and the held-out images
    received.clear()
    grid = page.get_by_role("slider", name="Grid size (decodes per side)").first
    grid.focus()
    page.keyboard.press("ArrowLeft")  # a whole-page rerun, with a new decoded grid
    wait_idle(page)
    assert "grid=14" in page.url
    assert 0 < sum(received) < 200_000  # the grid's new picture and the page's elements, not the model again


def test_a_click_pins_z_in_the_url_and_the_sliders(server, page):
    box = open_latent(page, server, "mnist_vae2")
    # a point of the plane with no held-out code within reach, so the pin is exactly where the click was
    x, y = box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.12
    page.mouse.move(x, y)
    z = [float(v) for v in decoded(page)[0].split(",")]
    page.mouse.click(x, y)
    wait_idle(page)
    assert_no_exception(page, "after a click")
    url = dict(part.split("=") for part in page.url.split("?", 1)[1].split("&"))
    for key, expected in zip(("z1", "z2"), z):
        value = slider_value(page, key)
        assert value == pytest.approx(expected, abs=0.03)  # the slider's step, about 0.02
        assert float(url[key]) == pytest.approx(value, abs=0.01)
    assert page.get_by_text("Nearest to the pinned z", exact=False).count() == 1
    page.screenshot(path=str(ARTIFACTS / "latent-pinned.png"), full_page=True)


def test_arrow_keys_move_the_pin_and_the_sliders_follow(server, page):
    open_latent(page, server, "mnist_vae2", "&z1=0&z2=0")
    page.locator(PLANE).first.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    wait_idle(page)
    assert (slider_value(page, "z1"), slider_value(page, "z2")) == pytest.approx((0.6, 0.2), abs=1e-6)
    assert "z1=0.6" in page.url and "z2=0.2" in page.url


def test_a_slider_step_moves_the_planes_pin(server, page):
    open_latent(page, server, "mnist_vae2", "&z1=0&z2=0")
    before = decoded(page)
    page.get_by_role("slider", name="z1").first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    after = decoded(page)
    assert after[2] != before[2]  # the plane decoded the slider's z, in the browser
    assert float(after[0].split(",")[0]) == pytest.approx(slider_value(page, "z1"), abs=1e-4)


def test_the_plane_follows_a_slider_before_the_server_answers(server, page):
    """The plane mirrors the page's slider as it moves: it decodes the new z before Python's answer arrives."""
    open_latent(page, server, "mnist_vae2", "&z1=0&z2=0")
    page.evaluate("""() => {
        window.__order = [];
        window.addEventListener('aex-decoded', () => window.__order.push('decoded'));
        window.addEventListener('aex-bridge', () => window.__order.push('answer'));
    }""")
    page.wait_for_timeout(500)  # a late answer to the page's first run is not the slider's
    page.evaluate("() => { window.__order.length = 0; }")
    page.get_by_role("slider", name="z1").first.focus()
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    order = page.evaluate("() => window.__order")
    assert order[:2] == ["decoded", "answer"], order
    assert float(decoded(page)[0].split(",")[0]) == pytest.approx(0.02, abs=1e-6)  # one slider step
    assert "z1=0.02" in page.url


def test_a_slider_dragged_with_the_mouse_after_the_plane_had_the_focus_is_mirrored_while_it_moves(server, page):
    """Keys on the plane first (the plane holds the focus and moves the pin), then a mouse drag of z1: the plane
    draws the dragged z before the slider is released, i.e. before Python hears of it."""
    open_latent(page, server, "mnist_vae2", "&z1=0&z2=0")
    page.locator(PLANE).first.focus()
    page.keyboard.press("ArrowRight")  # pin at z1 = 0.02, as a slider step would put it
    wait_idle(page)
    page.evaluate("""() => {
        window.__order = [];
        window.addEventListener('aex-decoded', () => window.__order.push('decoded'));
        window.addEventListener('aex-bridge', () => window.__order.push('answer'));
    }""")
    thumb = page.get_by_role("slider", name="z1").first
    box = thumb.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for dx in range(1, 7):
        page.mouse.move(box["x"] + box["width"] / 2 - 6 * dx, box["y"] + box["height"] / 2)
        page.wait_for_timeout(30)
    page.wait_for_timeout(200)
    during = page.evaluate("() => [...window.__order]")
    z_during = float(decoded(page)[0].split(",")[0])
    page.mouse.up()
    wait_idle(page)
    assert during and set(during) == {"decoded"}, during  # drawn while dragging, Python not yet told
    assert z_during != pytest.approx(0.02) and z_during == pytest.approx(slider_value(page, "z1"), abs=1e-6)
    assert "answer" in page.evaluate("() => window.__order")  # and Python's answer followed the release


def _browser_decodes(page, codes: torch.Tensor) -> np.ndarray:
    values = page.evaluate("""(codes) => {
        const plane = [...window.__aex.planes.values()][0];
        return codes.map((z) => Array.from(plane.decoder.decode(z)));
    }""", codes.tolist())
    return np.asarray(values, dtype=np.float32)


def _parity(page, model) -> float:
    generator = torch.Generator().manual_seed(0)
    codes = torch.randn(PARITY_CODES, model.config.latent, generator=generator) * 2
    got = _browser_decodes(page, codes)
    with torch.no_grad():
        expected = model.decode(codes).permute(0, 2, 3, 1).reshape(PARITY_CODES, -1).numpy()  # HWC, as the browser
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max())


@pytest.mark.parametrize("name", [n for n, e in CATALOG.items() if e.latent == 2] + ["mnist_vae16", "mnist_cae16",
                                                                                     "mnist_tied100",
                                                                                     "mnist_tanh_untied100"])
def test_the_browser_decoder_matches_torch(server, page, name):
    if name not in CATALOG:
        pytest.skip(f"{name} is not shipped")
    open_latent(page, server, name)
    difference = _parity(page, load_checkpoint(CATALOG[name].path)[0])
    assert difference <= PARITY_TOLERANCE, f"{name}: largest pixel difference {difference:.2e}"


def test_an_uploaded_faces_conv_model_decodes_in_the_browser_like_torch(server, page, tmp_path):
    """A conv decoder on 64×64 faces trained here, uploaded as a checkpoint through the Train page."""
    from models.autoencoders import build_model
    from models.checkpoint import save_checkpoint
    from models.config import ModelConfig, TrainConfig
    from models.data import load_dataset
    from models.training.result import training_record
    from models.training.trainer import train

    faces = load_dataset("olivetti", source="auto", image_size=(64, 64))
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", arch="conv", input_shape=(1, 64, 64), hidden=(16, 32, 64),
                                    latent=2, loss="mse", output_activation="sigmoid"))
    config = TrainConfig(epochs=1, batch_size=32)
    record = training_record(train(model, faces, config), faces, config)
    weights, document = save_checkpoint(model, tmp_path / "faces_cvae", record)
    page.goto(f"{server}/train")
    wait_idle(page)
    page.get_by_text("Load a checkpoint trained elsewhere").first.click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files([str(weights), str(document)])
    wait_idle(page)
    page.get_by_role("button", name="Add to this session's models").click()
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "train-uploaded-faces.png"), full_page=True)
    assert_no_exception(page, "upload")
    page.get_by_role("link", name="Latent manifold").first.click()
    wait_idle(page)
    page.wait_for_function("() => window.__aex && window.__aex.planes.size > 0", timeout=30_000)
    assert "faces_cvae" in page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Model").input_value()
    difference = _parity(page, model.eval())
    assert difference <= PARITY_TOLERANCE, f"largest pixel difference {difference:.2e}"
    page.screenshot(path=str(ARTIFACTS / "latent-uploaded-faces.png"), full_page=True)


LIVE_APP = '''
import sys
sys.path.insert(0, {root!r})
import streamlit as st
import torch
from models.autoencoders import build_model
from models.config import ModelConfig
from models.data import Dataset
from ui.latent_plane import plane
from ui.latent_plane.views import codes_plane, plane_payload

step = st.session_state.setdefault("step", 0)
if st.button("next frame"):
    step = st.session_state["step"] = step + 1
torch.manual_seed(step)  # a different model each frame, as while training
model = build_model(ModelConfig(kind="vae", hidden=(16,), input_shape=(1, 8, 8))).eval()
x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
data = Dataset(name="t", train=x, test=x, train_labels=None, test_labels=None, label_names=None, source="t")
codes = model.embed(x)
plane(plane_payload("live:demo", "live", model, codes_plane(codes), codes, codes, data, with_images=step == 0),
      key="plane_live")
st.write(f"frame {{step}}")
'''


def test_a_new_frame_of_the_same_plane_reloads_in_place(browser, tmp_path):
    """A model that changes while it is shown (a training run's frames) swaps into the plane without a rebuild."""
    import subprocess
    import sys
    import time
    import urllib.request

    from benchmarks.harness import ROOT, free_port

    script = tmp_path / "live.py"
    script.write_text(LIVE_APP.format(root=str(ROOT)))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                                "--server.headless", "true"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        wait_idle(page)
        page.wait_for_function("() => window.__aex && window.__aex.planes.has('live:demo')")
        page.evaluate("() => { window.__first = window.__aex.planes.get('live:demo'); }")
        before = decoded(page)
        assert page.locator("canvas.aex-thumb").first.is_visible()
        for frame in (1, 2):
            page.get_by_role("button", name="next frame").click()
            page.wait_for_function(f"() => window.__aex.stats['live:demo'].reloads === {frame}")
        after = decoded(page)
        assert page.evaluate("() => window.__aex.planes.get('live:demo') === window.__first")  # not rebuilt
        assert after[2] != before[2]  # the new model's decode of the same z
        assert not page.locator("canvas.aex-thumb").first.is_visible()  # this frame came without the images
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
