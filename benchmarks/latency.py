"""How quickly the app answers a latent slider, as a ratio against a bare Streamlit app measured in the same run.

    .venv/bin/python benchmarks/latency.py [--steps N]

1. Two Streamlit servers on free loopback ports, both with the repo's .streamlit/config.toml: the real app
   (/latent?model=mnist_vae2) and a bare reference app whose only content is a z1 slider and a 28×28 PNG inside
   an @st.fragment, as the Latent page draws its z1/z2 sliders. The reference is the floor: Streamlit's own cost of
   one fragment rerun over a websocket, plus the browser's render.
2. Headless Chromium (Debian's, via Playwright) focuses each z1 slider and presses ArrowRight N times, alternating
   the two apps step by step so machine noise hits both alike. The browser times each step itself
   (performance.now() at keydown, and in a MutationObserver when the slider image's src changes and when the
   rerun has finished), so Playwright's own round trips are not in the figures. The first 3 steps are warm-up.
3. In-process, the work one slider step does on the server: decode one z with mnist_vae2, to_uint8, enlarge,
   PNG-encode (median of 200).
Also printed, from the websocket frames: kilobytes the server sends per step, and how many elements outside the
fragment it sends (0 means the fragment reran alone; a whole-page rerun resends the title, the grid, ...: a grid
slider step sends ~60 such). Whether any other image's src changed is printed too, but media URLs are content
hashes, so an unchanged src does not by itself rule out a whole-page rerun; the element count does.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARMUP = 3
CAPTION = "slider z"  # the caption prefix of the image the z1/z2 fragment decodes into, on both apps
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

# Mirrors the Latent page: the slider and its image live in an @st.fragment, so a step reruns only that function.
# The caption keeps the same prefix so one probe finds the image on both apps; the pixels shift with every step
# (PNG URLs are content hashes, so a constant-looking image would keep its src).
REFERENCE_APP = textwrap.dedent('''\
    import numpy as np
    import streamlit as st

    PIXELS = np.arange(28 * 28, dtype=np.int64).reshape(28, 28)


    @st.fragment
    def explore():
        v = st.slider("z1", -3.0, 3.0, 0.0, 0.01, key="z1")
        image = ((PIXELS + round(v * 100)) % 256).astype(np.uint8)
        st.image(image, caption=f"slider z = ({v:.2f})", output_format="PNG")


    explore()
''')

# Runs in the page with the focused slider as `input`. Records the src of the fragment's image, then resolves
# window.__probe's times (performance.now()) at keydown, at the first src change, and when the script state is
# notRunning once the src has changed (a fast rerun's running/notRunning may be batched into one render and never
# show). Also notes whether any other image's src changed.
PROBE_JS = """(input, prefix) => {
  if (document.activeElement !== input) input.focus();
  const app = document.querySelector('[data-testid="stApp"]');
  const image = () => {
    for (const caption of document.querySelectorAll('[data-testid="stImageCaption"]')) {
      if (caption.textContent.trim().startsWith(prefix)) {
        const img = caption.closest('[data-testid="stImageContainer"]')?.querySelector('img');
        if (img) return img;
      }
    }
    return null;
  };
  const others = () => [...document.querySelectorAll('[data-testid="stImageContainer"] img')]
    .filter(img => img !== image()).map(img => img.src).join('\\n');
  const before = image()?.src ?? null;
  const probe = {t0: null, src: null, done: null, othersBefore: others(), othersAfter: null};
  window.__probe = probe;
  window.addEventListener('keydown', () => { probe.t0 = performance.now(); }, {capture: true, once: true});
  const observer = new MutationObserver(() => {
    const now = performance.now();
    if (probe.t0 === null) return;
    const src = image()?.src ?? null;
    if (probe.src === null && src !== null && src !== before) probe.src = now;
    if (probe.src !== null && app.getAttribute('data-test-script-state') === 'notRunning') {
      probe.done = now;
      probe.othersAfter = others();
      observer.disconnect();
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                                   attributeFilter: ['src', 'data-test-script-state']});
  return {ok: before !== null && document.activeElement === input,
          value: Number(input.value), low: Number(input.min), high: Number(input.max)};
}"""


@dataclass
class Target:
    name: str
    url: str
    page: object = None
    slider: object = None
    direction: str = "ArrowRight"
    src_ms: list[float] = field(default_factory=list)
    done_ms: list[float] = field(default_factory=list)
    kilobytes: list[float] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)  # deltas with no fragment id, per step
    others_changed: int = 0
    frames: list[bytes] = field(default_factory=list)


# --- servers ---------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app: Path, log: Path):
    """A headless Streamlit server for `app`, run from the app's folder so its .streamlit/config.toml applies."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", app.name, "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=app.parent, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(process: subprocess.Popen, url: str, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited ({process.returncode}):\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"server for {url} not healthy after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


# --- browser ---------------------------------------------------------------------------------------------------
def wait_idle(page, timeout_ms: int = 90_000) -> None:
    """Until the script state is notRunning and stays so for ~0.5 s."""
    for _ in range(40):
        page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                               "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=timeout_ms)
        page.wait_for_timeout(500)
        if page.get_by_test_id("stApp").get_attribute("data-test-script-state") == "notRunning":
            return
    raise RuntimeError(f"{page.url} never settled")


def open_target(context, target: Target) -> None:
    page = context.new_page()

    def on_socket(ws) -> None:
        ws.on("framereceived", lambda payload: target.frames.append(payload)
              if isinstance(payload, bytes) else None)

    page.on("websocket", on_socket)
    page.goto(target.url, wait_until="domcontentloaded", timeout=90_000)
    wait_idle(page)
    target.page, target.slider = page, page.get_by_role("slider", name="z1").first
    target.slider.focus()
    target.frames.clear()


def step(target: Target, record: bool) -> None:
    """One key press on the focused z1 slider, timed in the browser until the image changes and the rerun ends."""
    page = target.page
    page.bring_to_front()
    state = target.slider.evaluate(PROBE_JS, CAPTION)
    if not state["ok"]:
        raise RuntimeError(f"{target.name}: no focused z1 slider or no '{CAPTION}…' image on {page.url}")
    # Bounce between the ends so the slider never sticks at a bound (a press there would change nothing).
    if state["value"] >= state["high"]:
        target.direction = "ArrowLeft"
    elif state["value"] <= state["low"]:
        target.direction = "ArrowRight"
    target.frames.clear()
    page.keyboard.press(target.direction)
    page.wait_for_function("() => window.__probe.done !== null", timeout=30_000)
    probe = page.evaluate("() => window.__probe")
    if not record:
        return
    target.src_ms.append(probe["src"] - probe["t0"])
    target.done_ms.append(probe["done"] - probe["t0"])
    target.others_changed += probe["othersBefore"] != probe["othersAfter"]
    target.kilobytes.append(sum(map(len, target.frames)) / 1024)
    target.outside.append(deltas_outside_fragments(target.frames))


def deltas_outside_fragments(frames: list[bytes]) -> int:
    """Elements the server sent that belong to no fragment: a fragment-only rerun sends none."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    outside = 0
    for payload in frames:
        message = ForwardMsg()
        message.ParseFromString(payload)
        outside += message.WhichOneof("type") == "delta" and not message.delta.fragment_id
    return outside


def measure_round_trips(targets: list[Target], steps: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for target in targets:
                open_target(browser.new_context(viewport={"width": 1400, "height": 1000}), target)
            for i in range(WARMUP + steps):
                # Alternate which app goes first, so neither always follows the other's rerun.
                for target in (targets if i % 2 == 0 else targets[::-1]):
                    step(target, record=i >= WARMUP)
        finally:
            browser.close()


# --- in-process cost of one step ----------------------------------------------------------------------------------
def decode_png_ms(repeats: int = 200) -> float:
    import torch

    from models.checkpoint import load_checkpoint
    from pages.figures import enlarge, png_bytes, to_uint8
    from pages.latent_plots import enlarge_factor

    model, _ = load_checkpoint(ROOT / "pretrained" / "mnist_vae2")
    factor = enlarge_factor(model.config.input_shape[-1], 196)  # the page's SINGLE_PX target
    times = []
    with torch.no_grad():
        for i in range(repeats + 5):
            start = time.perf_counter()
            image = to_uint8(model.decode(torch.tensor([[0.01 * i - 1.0, 0.5]])))[0]
            png_bytes(enlarge(image, factor))
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[5:])


# --- report --------------------------------------------------------------------------------------------------------
def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def report(app: Target, reference: Target, in_process_ms: float, steps: int) -> None:
    print(f"Latent slider, {steps} key presses per app after {WARMUP} warm-up, apps alternating; ms from keydown, "
          f"timed in the browser")
    print(f"{'':>10} {'image src changed':>19} {'rerun finished':>17} {'KB sent':>8} {'elements outside':>17}")
    print(f"{'':>10} {'median':>9} {'p90':>9} {'median':>8} {'p90':>8} {'per step':>8} {'the fragment':>17}")
    for t in (app, reference):
        print(f"{t.name:>10} {statistics.median(t.src_ms):>9.1f} {p90(t.src_ms):>9.1f} "
              f"{statistics.median(t.done_ms):>8.1f} {p90(t.done_ms):>8.1f} {statistics.median(t.kilobytes):>8.1f} "
              f"{max(t.outside):>17d}")
    ratio = statistics.median(app.src_ms) / statistics.median(reference.src_ms)
    ratio_done = statistics.median(app.done_ms) / statistics.median(reference.done_ms)
    print(f"\nratio app/reference, median ms to image src changed: {ratio:.2f}   (to rerun finished: {ratio_done:.2f})")
    print(f"in-process decode + to_uint8 + enlarge + PNG (mnist_vae2, median of 200): {in_process_ms:.2f} ms")
    print(f"steps where another image's src changed: app {app.others_changed}, reference {reference.others_changed}; "
          f"elements outside the fragment: the most sent in one step (0 = the fragment reran alone)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="measured key presses per app (default 30)")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2")

    with tempfile.TemporaryDirectory(prefix="latency_") as tmp, contextlib.ExitStack() as servers:
        folder = Path(tmp)
        (folder / ".streamlit").mkdir()
        shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
        (folder / "reference.py").write_text(REFERENCE_APP)
        # Both servers start at once (the real one imports torch); each is killed when the stack unwinds.
        started = [(servers.enter_context(serve(path, folder / log)), folder / log)
                   for path, log in ((ROOT / "app.py", "app.log"), (folder / "reference.py", "reference.log"))]
        for (process, url), log in started:
            wait_healthy(process, url, log)
        (_, app_url), _ = started[0]
        (_, reference_url), _ = started[1]
        app = Target("app", f"{app_url}/latent?model=mnist_vae2")
        reference = Target("reference", f"{reference_url}/")
        measure_round_trips([app, reference], args.steps)
    report(app, reference, decode_png_ms(), args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
