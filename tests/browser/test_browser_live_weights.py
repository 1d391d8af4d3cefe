"""A big decoder's live frames in the real browser: decoder.js widens float16 weights exactly as NumPy does, and
the live plane of a run whose decoder is over 1 MB as float32 (so its frames carry float16) still draws and
decodes like the float32 model, within float16's error."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.harness import ARTIFACTS, ROOT, assert_no_exception, serve, wait_healthy, wait_idle
from models.config import ModelConfig
from models.decoder_program import DecoderProgram, decoder_program, run_program
from models.training.job import fresh_model
from tests.browser.test_browser_latent import decoded
from tests.unit.test_live_frame_weights import error_bound

pytestmark = pytest.mark.browser
PARITY_TOLERANCE = 1e-4  # the browser's float32 kernels against NumPy's, as in test_browser_latent.py

# A run's page as live.py draws it, from frames the job really sends: the untrained frame and three more of a
# 2 → 320 → 784 decoder (252,624 weights: 1.01 MB as float32, so float16 goes to the browser).
LIVE_APP = '''
import sys
sys.path.insert(0, {root!r})
import streamlit as st
from models.config import ModelConfig, TrainConfig
from models.data import load_dataset
from models.training.job import Frames, TrainSpec, fresh_model
from ui.latent_plane import plane
from ui.train.runs import TrainingRun

@st.cache_resource
def big_run():
    data = load_dataset("mnist", source="bundled")
    config = ModelConfig(hidden=(320,), latent=2)
    run = TrainingRun(name="big", dataset="mnist", data=data, model_config=config,
                      train_config=TrainConfig(epochs=1), title="big")
    class Context:
        def emit(self, kind, payload=None):
            run.receive(kind, payload)
    frames = Frames(Context(), fresh_model(config, 0), TrainSpec(config, run.train_config, data))
    for i in range(4):
        frames.frame(0.5 * i, 0.5 * i, "untrained" if i == 0 else "")
    return run

run = big_run()
plane(run.cached_payload(run.latest), key="train_plane")
st.write(f"weights sent as {{run.latest.weights.dtype}}")
'''


def test_float16_widens_in_the_browser_exactly_as_numpy_does(browser):
    page = browser.new_page()
    try:
        page.add_script_tag(content=(ROOT / "ui" / "latent_plane" / "decoder.js").read_text())
        got = np.asarray(page.evaluate("""() => {
            const bits = new Uint16Array(65536);
            for (let i = 0; i < 65536; i++) bits[i] = i;
            return Array.from(halfToFloat(bits), (v) => (Number.isNaN(v) ? "nan" : Object.is(v, -0) ? "-0" : v));
        }"""), dtype=object)
    finally:
        page.close()
    want = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float64)
    nan = np.isnan(want)
    assert (got[nan] == "nan").all() and not (got[~nan] == "nan").any()
    negative_zero = np.signbit(want) & (want == 0)
    assert (got[negative_zero] == "-0").all()
    rest = ~nan & ~negative_zero
    assert np.array_equal(got[rest].astype(np.float64), want[rest])  # every finite value and ±inf, bit for bit


def test_the_live_plane_of_a_decoder_sent_as_float16_draws_and_decodes_like_float32(browser, tmp_path):
    script = tmp_path / "live_big.py"
    script.write_text(LIVE_APP.format(root=str(ROOT)))
    log = tmp_path / "server.log"
    with serve(script, log) as (process, url):
        wait_healthy(process, url, log)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(url)
        wait_idle(page)
        assert_no_exception(page, "live plane, float16")
        page.get_by_text("weights sent as float16").wait_for()
        page.wait_for_function("() => window.__aex && window.__aex.planes.has('train:big')", timeout=30_000)
        box = page.locator("canvas.aex-plane").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
        for _ in range(50):  # the plane lives in a shadow root: locators reach it, document.querySelector does not
            if decoded(page)[1] > 0:
                break
            page.wait_for_timeout(100)
        z, count, pixels = decoded(page)
        assert count > 0 and z and pixels.startswith("data:image/png")
        page.screenshot(path=str(ARTIFACTS / "live-plane-float16.png"))

        codes = np.random.default_rng(0).normal(0, 2, (20, 2)).astype(np.float32)
        got = np.asarray(page.evaluate("""(codes) => {
            const plane = window.__aex.planes.get('train:big');
            return codes.map((z) => Array.from(plane.decoder.decode(z)));
        }""", codes.tolist()), dtype=np.float32)
        context.close()
    # the script's model: same config and seed, and no training step between its frames
    exact = decoder_program(fresh_model(ModelConfig(hidden=(320,), latent=2), 0))
    widened = DecoderProgram(exact.ops, exact.weights.astype(np.float16).astype(np.float32), 2, exact.image_shape)
    as_sent = run_program(widened, codes).transpose(0, 2, 3, 1).reshape(len(codes), -1)  # HWC, as the browser
    assert np.abs(got - as_sent).max() <= PARITY_TOLERANCE  # the browser ran the float16 weights it was sent
    want = run_program(exact, codes).transpose(0, 2, 3, 1).reshape(len(codes), -1)
    bound = np.stack([error_bound(exact, z) for z in codes]).reshape(want.shape)
    assert (np.abs(got - want) <= bound + PARITY_TOLERANCE).all()  # and so decodes as float32 does, within float16
    assert np.abs(got - want).max() > 0
