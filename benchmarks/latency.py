"""How fast the latent page answers: hovers decoded in the browser, slider steps against a bare-Streamlit floor,
and a class of sessions at once. Every figure is printed beside a reference measured in the same run.

    .venv/bin/python benchmarks/latency.py [--quick] [--hovers N] [--steps N] [--sessions N]

1. Hover → decoded pixels drawn, for every shipped model with a 2-D latent: headless Chromium (Debian's, via
   Playwright) moves the pointer over the latent plane N times (default 240, 25 ms apart). The plane times each
   decode itself, from the pointer event's timestamp to the pixels written into its canvas (so Playwright's own
   round trips are not in the figure). Also counted: the websocket frames the page sends while hovering
   (a rerun request is one; target 0), and the in-browser decode alone.
2. Slider step → new image: the z1 slider of /latent?model=mnist_vae2 against a bare Streamlit app whose only
   content is a z1 slider and a 28×28 PNG inside an @st.fragment (the floor: Streamlit's own cost of one fragment
   rerun, plus the browser's render). Key presses alternate between the two apps. Timed in the browser from
   keydown to the new picture: the plane mirrors the slider and decodes its z in the browser; Python's answer (the
   bridge's pin, the nearest held-out image, the URL) follows in the fragment rerun. Also: KB the server sends per step and elements outside the fragment (0 = it reran alone).
3. A class: S sessions (default 20) in one Chromium on the app, all hovering, then all stepping the z1 slider at
   once; against 1 session the same way. Printed: errors, the server's CPU seconds in each phase (from /proc:
   hovering must add none), and p50/p95 of a step (keydown → Python's answer reaches the plane).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import (CHROMIUM, CHROMIUM_ARGS, cpu_seconds, percentile, serve,  # noqa: E402
                                wait_healthy, wait_not_running)

WARMUP = 3
CAPTION = "slider z"  # the caption prefix of the reference's image

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

# Runs in the page with the focused slider as `input`: resolves window.__probe's times (performance.now()) at
# keydown; on the app, when the plane draws its next decode and when Python's answer reaches the plane (the
# bridge); on the reference, when the captioned image's src changes; and when the rerun has finished after that.
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
  const plane = Boolean(window.__aex && window.__aex.planes.size);
  const before = image()?.src ?? null;
  const probe = {t0: null, plane: null, server: null, done: null};
  window.__probe = probe;
  const finish = () => {
    if (probe.server !== null && probe.done === null && app.getAttribute('data-test-script-state') === 'notRunning')
      probe.done = performance.now();
  };
  window.addEventListener('keydown', () => { probe.t0 = performance.now(); }, {capture: true, once: true});
  window.addEventListener('aex-decoded', () => {
    if (probe.t0 !== null && probe.plane === null) probe.plane = performance.now(); });
  window.addEventListener('aex-bridge', () => {
    if (probe.t0 !== null && probe.server === null) { probe.server = performance.now(); finish(); } });
  const observer = new MutationObserver(() => {
    if (probe.t0 === null) return;
    const src = image()?.src ?? null;
    if (!plane && probe.server === null && src !== null && src !== before) probe.server = performance.now();
    finish();
    if (probe.done !== null) observer.disconnect();
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                                   attributeFilter: ['src', 'data-test-script-state']});
  return {ok: (plane || before !== null) && document.activeElement === input,
          value: Number(input.value), low: Number(input.min), high: Number(input.max)};
}"""


@dataclass
class Target:
    name: str
    url: str
    page: object = None
    slider: object = None
    direction: str = "ArrowRight"
    plane_ms: list[float] = field(default_factory=list)
    src_ms: list[float] = field(default_factory=list)  # the reference's new image; the app's answer from Python
    done_ms: list[float] = field(default_factory=list)
    kilobytes: list[float] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)  # deltas with no fragment id, per step
    received: list[bytes] = field(default_factory=list)
    sent: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def open_target(context, target: Target) -> None:
    page = context.new_page()

    def on_socket(ws) -> None:
        ws.on("framereceived", lambda payload: target.received.append(payload) if isinstance(payload, bytes) else None)
        ws.on("framesent", lambda payload: target.sent.append(payload))

    page.on("websocket", on_socket)
    page.on("pageerror", lambda error: target.errors.append(str(error)))
    page.goto(target.url, wait_until="domcontentloaded", timeout=90_000)
    wait_not_running(page)
    target.page, target.slider = page, page.get_by_role("slider", name="z1").first
    target.received.clear()


# --- 1. hovering ---------------------------------------------------------------------------------------------
def hover(target: Target, moves: int, seed: int = 0, pause_ms: int = 25) -> dict:
    """Move the pointer over the plane `moves` times; returns the plane's own timings and the frames sent."""
    page = target.page
    page.wait_for_function("() => window.__aex && window.__aex.planes.size > 0", timeout=60_000)
    box = page.locator("canvas.aex-plane").first.bounding_box()
    page.evaluate("() => Object.values(window.__aex.stats).forEach((s) => { s.latencies.length = 0; "
                  "s.decodeMs.length = 0; })")
    sent_before = len(target.sent)
    rng = random.Random(seed)
    for _ in range(moves):
        page.mouse.move(box["x"] + box["width"] * rng.uniform(0.15, 0.95),
                        box["y"] + box["height"] * rng.uniform(0.05, 0.85))
        page.wait_for_timeout(pause_ms)
    page.mouse.move(0, 0)  # leave the plane
    page.wait_for_timeout(100)
    stats = page.evaluate("() => Object.values(window.__aex.stats)[0]")
    return {"latencies": stats["latencies"], "decode": stats["decodeMs"], "sent": len(target.sent) - sent_before}


def measure_hovers(url: str, models: list[str], moves: int) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name in models:
                target = Target(name, f"{url}/latent?model={name}")
                open_target(browser.new_context(viewport={"width": 1440, "height": 900}), target)
                results[name] = hover(target, moves)
                results[name]["errors"] = target.errors
        finally:
            browser.close()
    return results


# --- 2. slider steps ------------------------------------------------------------------------------------------
def step(target: Target, record: bool) -> None:
    """One key press on the focused z1 slider, timed in the browser until the new picture and the rerun's end."""
    page = target.page
    page.bring_to_front()
    state = target.slider.evaluate(PROBE_JS, CAPTION)
    if not state["ok"]:
        raise RuntimeError(f"{target.name}: no focused z1 slider or no captioned image on {page.url}")
    # Bounce between the ends so the slider never sticks at a bound (a press there would change nothing).
    if state["value"] >= state["high"]:
        target.direction = "ArrowLeft"
    elif state["value"] <= state["low"]:
        target.direction = "ArrowRight"
    target.received.clear()
    page.keyboard.press(target.direction)
    page.wait_for_function("() => window.__probe.done !== null", timeout=60_000)
    probe = page.evaluate("() => window.__probe")
    if not record:
        return
    target.src_ms.append(probe["server"] - probe["t0"])
    target.done_ms.append(probe["done"] - probe["t0"])
    if probe["plane"] is not None:
        target.plane_ms.append(probe["plane"] - probe["t0"])
    target.kilobytes.append(sum(map(len, target.received)) / 1024)
    target.outside.append(deltas_outside_fragments(target.received))


def deltas_outside_fragments(frames: list[bytes]) -> int:
    """Elements the server sent that belong to no fragment: a fragment-only rerun sends none."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    outside = 0
    for payload in frames:
        message = ForwardMsg()
        message.ParseFromString(payload)
        outside += message.WhichOneof("type") == "delta" and not message.delta.fragment_id
    return outside


def measure_steps(app_url: str, reference_url: str, steps: int) -> tuple[Target, Target]:
    from playwright.sync_api import sync_playwright

    app = Target("app", f"{app_url}/latent?model=mnist_vae2")
    reference = Target("reference", f"{reference_url}/")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for target in (app, reference):
                open_target(browser.new_context(viewport={"width": 1440, "height": 900}), target)
                target.slider.focus()
            for i in range(WARMUP + steps):
                # Alternate which app goes first, so neither always follows the other's rerun.
                for target in ((app, reference) if i % 2 == 0 else (reference, app)):
                    step(target, record=i >= WARMUP)
        finally:
            browser.close()
    return app, reference


# --- 3. a class at once -----------------------------------------------------------------------------------------
def class_at_once(app_url: str, pid: int, sessions: int, hovers: int, steps: int) -> dict:
    """S sessions hover, then all step their z1 slider at once: errors, server CPU, step times."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            targets = [Target(f"s{i}", f"{app_url}/latent?model=mnist_vae2") for i in range(sessions)]
            for target in targets:
                open_target(browser.new_context(viewport={"width": 1440, "height": 900}), target)
            for target in targets:
                target.page.wait_for_function("() => window.__aex && window.__aex.planes.size > 0", timeout=90_000)
            boxes = [t.page.locator("canvas.aex-plane").first.bounding_box() for t in targets]
            time.sleep(1.0)
            sent = sum(len(t.sent) for t in targets)
            cpu = cpu_seconds(pid)
            rng = random.Random(1)
            for _ in range(hovers):  # every session moves its pointer in turn
                for target, box in zip(targets, boxes):
                    target.page.mouse.move(box["x"] + box["width"] * rng.uniform(0.15, 0.95),
                                           box["y"] + box["height"] * rng.uniform(0.05, 0.85))
            time.sleep(1.0)
            hover_cpu, hover_sent = cpu_seconds(pid) - cpu, sum(len(t.sent) for t in targets) - sent
            decodes = sum(t.page.evaluate("() => Object.values(window.__aex.stats)[0].decodes") for t in targets)
            step_ms, failed = [], 0
            cpu = cpu_seconds(pid)
            for _ in range(steps):
                for target in targets:  # arm every probe, then press every key with no wait between them
                    target.slider.evaluate(PROBE_JS, CAPTION)
                for target in targets:
                    target.page.keyboard.press("ArrowRight")
                for target in targets:
                    try:
                        target.page.wait_for_function("() => window.__probe.server !== null", timeout=60_000)
                        probe = target.page.evaluate("() => window.__probe")
                        step_ms.append(probe["server"] - probe["t0"])
                    except Exception as error:  # noqa: BLE001 (a timeout is a failed step, counted)
                        failed += 1
                        target.errors.append(f"step: {error}")
                for target in targets:
                    wait_not_running(target.page)
            step_cpu = cpu_seconds(pid) - cpu
        finally:
            browser.close()
    return {"sessions": sessions, "hover_cpu": hover_cpu, "hover_sent": hover_sent, "decodes": decodes,
            "moves": hovers * sessions, "step_cpu": step_cpu, "steps": step_ms, "failed": failed,
            "errors": sum(len(t.errors) for t in targets)}


# --- report ---------------------------------------------------------------------------------------------------
def report_hovers(results: dict[str, dict]) -> None:
    print("1. Hover → decoded pixels drawn, in the browser (ms, from the pointer event to the pixels written)")
    print(f"{'model':>16} {'moves':>6} {'median':>7} {'p95':>7} {'decode alone':>13} {'frames sent':>12} {'errors':>7}")
    for name, r in results.items():
        lat, dec = r["latencies"], r["decode"]
        print(f"{name:>16} {len(lat):>6} {statistics.median(lat):>7.1f} {percentile(lat, 0.95):>7.1f} "
              f"{statistics.median(dec):>13.2f} {r['sent']:>12d} {len(r['errors']):>7d}")
    print("   target: median under 16 ms (one frame at 60 Hz); frames sent while hovering: 0\n")


def report_steps(app: Target, reference: Target, steps: int) -> None:
    floor = statistics.median(reference.src_ms)
    print(f"2. Slider step → new picture ({steps} presses each after {WARMUP} warm-up, apps alternating; ms from "
          f"keydown)")
    print(f"{'':>28} {'median':>7} {'p90':>7} {'/ floor':>8}")
    rows = [("floor: bare fragment image", reference.src_ms), ("app: plane draws the new z", app.plane_ms),
            ("app: Python's answer arrives", app.src_ms), ("app: rerun finished", app.done_ms),
            ("floor: rerun finished", reference.done_ms)]
    for label, values in rows:
        if values:
            print(f"{label:>28} {statistics.median(values):>7.1f} {percentile(values, 0.9):>7.1f} "
                  f"{statistics.median(values) / floor:>8.2f}")
    print(f"   KB sent per step: app {statistics.median(app.kilobytes):.1f}, floor "
          f"{statistics.median(reference.kilobytes):.1f}; elements outside the fragment, most in one step: app "
          f"{max(app.outside)}, floor {max(reference.outside)}")
    print("   target: ≤ 1.3 × the floor\n")


def report_class(one: dict, many: dict) -> None:
    print(f"3. A class at once on one server: {many['sessions']} sessions against 1, the same moves and steps")
    print(f"{'sessions':>9} {'hover moves':>12} {'decodes':>8} {'frames sent':>12} {'server CPU s':>13} "
          f"{'steps':>6} {'failed':>7} {'step p50':>9} {'p95':>7} {'server CPU s':>13} {'page errors':>12}")
    for r in (one, many):
        print(f"{r['sessions']:>9} {r['moves']:>12} {r['decodes']:>8} {r['hover_sent']:>12} {r['hover_cpu']:>13.2f} "
              f"{len(r['steps']):>6} {r['failed']:>7} {statistics.median(r['steps']):>9.0f} "
              f"{percentile(r['steps'], 0.95):>7.0f} {r['step_cpu']:>13.2f} {r['errors']:>12}")
    print("   hovering: server CPU seconds while every session moves its pointer (target: no more than an idle "
          "server's); steps: keydown → Python's answer reaches the plane, ms\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few of everything, one model (seconds; for tests)")
    parser.add_argument("--hovers", type=int, default=240, help="pointer moves per model (default 240)")
    parser.add_argument("--steps", type=int, default=30, help="measured slider presses per app (default 30)")
    parser.add_argument("--sessions", type=int, default=20, help="sessions in part 3 (default 20)")
    args = parser.parse_args(argv)
    if args.quick:
        args.hovers, args.steps, args.sessions = 20, 2, 2
    from models.catalog import load_catalog

    models = [e.name for e in load_catalog() if e.latent == 2]
    if args.quick:
        models = models[:1]
    with tempfile.TemporaryDirectory(prefix="latency_") as tmp, contextlib.ExitStack() as servers:
        folder = Path(tmp)
        (folder / ".streamlit").mkdir()
        shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
        (folder / "reference.py").write_text(REFERENCE_APP)
        started = [(servers.enter_context(serve(path, folder / log)), folder / log)
                   for path, log in ((ROOT / "app.py", "app.log"), (folder / "reference.py", "reference.log"))]
        for (process, url), log in started:
            wait_healthy(process, url, log)
        (app_process, app_url), _ = started[0]
        (_, reference_url), _ = started[1]
        report_hovers(measure_hovers(app_url, models, args.hovers))
        app, reference = measure_steps(app_url, reference_url, args.steps)
        report_steps(app, reference, args.steps)
        rounds = max(2, args.hovers // 10)
        one = class_at_once(app_url, app_process.pid, 1, rounds, max(2, args.steps // 5))
        many = class_at_once(app_url, app_process.pid, args.sessions, rounds, max(2, args.steps // 5))
        report_class(one, many)
    if args.quick:
        print("\nquick mode: the figures above only show that the benchmark runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
