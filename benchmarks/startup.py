"""Start-up: process launch → first page drawn in the browser, for the app against a bare Streamlit app.

    .venv/bin/python benchmarks/startup.py [--quick] [--rounds N]

Each run starts a fresh `streamlit run` process (the app's own .streamlit/config.toml applies to both apps), polls
/_stcore/health every 20 ms, opens the page in a fresh context of one headless Chromium (Debian's, via
Playwright) and stops the clock when the page's first picture is drawn:
- bare: a Streamlit app that imports torch, decodes one 28×28 image with a small decoder and shows it (the floor:
  Python, Streamlit, torch and one image);
- app /: the default page, Home, which shows no image: drawn = its title, its introduction (formulas typeset)
  and all six tour links visible;
- app /latent: the first decoded image on the Latent page (the sidebar's default model) loaded and visible.
Runs alternate bare, app /, app /latent (the order rotates each round), so a busy spell of the shared machine
hits all three alike. Printed: each run, then per target the median wall time, the median CPU seconds the server
process had used by then (less sensitive to other load than wall time), and both as a ratio to the bare app.
Target: app / within 1.2 × bare.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import CHROMIUM, CHROMIUM_ARGS, cpu_seconds, serve, wait_healthy  # noqa: E402

TARGET_RATIO = 1.2
HEALTH_POLL_S = 0.02
TIMEOUT_S = 180.0

BARE_APP = textwrap.dedent('''\
    import streamlit as st
    import torch

    torch.manual_seed(0)
    decoder = torch.nn.Sequential(torch.nn.Linear(2, 256), torch.nn.ReLU(), torch.nn.Linear(256, 784), torch.nn.Sigmoid())
    with torch.no_grad():
        image = decoder(torch.zeros(1, 2)).reshape(28, 28).numpy()
    st.title("Bare app")
    st.image(image, caption="one decoded image", width=280)
''')

# The first <img> in the page's main area that has loaded and is on screen.
FIRST_IMAGE_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img')]
  .some(img => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0)"""
# Home has no image: drawn when its title, its introduction with the formulas typeset (KaTeX loads lazily; until
# then the paragraph is a grey placeholder) and every tour link are on screen.
HOME_DRAWN_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || !main.querySelector('h1') || !main.querySelector('[data-testid="stMarkdown"] .katex')) return false;
  const links = [...main.querySelectorAll('[data-testid="stPageLink"]')];
  return links.length >= 6 && links.every(a => a.getBoundingClientRect().height > 0);
}"""


@dataclass(frozen=True)
class Target:
    name: str
    app: str  # "bare" or "app"
    path: str
    drawn_js: str


TARGETS = [Target("bare", "bare", "", FIRST_IMAGE_JS), Target("app /", "app", "", HOME_DRAWN_JS),
           Target("app /latent", "app", "latent", FIRST_IMAGE_JS)]


@dataclass(frozen=True)
class Run:
    wall_s: float  # process launch → drawn
    cpu_s: float  # the server process's CPU seconds by then
    healthy_s: float  # process launch → /_stcore/health answered


def one_run(browser, app: Path, target: Target, log: Path) -> Run:
    start = time.monotonic()
    with serve(app, log) as (process, url):
        wait_healthy(process, url, log, timeout=TIMEOUT_S, poll=HEALTH_POLL_S)
        healthy = time.monotonic() - start
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        try:
            page = context.new_page()
            page.goto(f"{url}/{target.path}", wait_until="commit")
            page.wait_for_function(target.drawn_js, polling=20, timeout=TIMEOUT_S * 1000)
            wall = time.monotonic() - start
            cpu = cpu_seconds(process.pid)
            if page.locator('[data-testid="stException"]').count():
                raise RuntimeError(f"{target.name}: {page.locator('[data-testid=stException]').first.inner_text()}")
        finally:
            context.close()
    return Run(wall, cpu, healthy)


def measure(rounds: int, warmup: bool) -> dict[str, list[Run]]:
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[Run]] = {t.name: [] for t in TARGETS}
    with tempfile.TemporaryDirectory(prefix="startup_") as tmp, sync_playwright() as p:
        folder = Path(tmp)
        (folder / ".streamlit").mkdir()
        shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
        (folder / "bare.py").write_text(BARE_APP)
        apps = {"bare": folder / "bare.py", "app": ROOT / "app.py"}
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if warmup:  # the first launch after a while reads torch from disk, not the page cache
                for target in TARGETS:
                    one_run(browser, apps[target.app], target, folder / "warmup.log")
            for r in range(rounds):
                for i in range(len(TARGETS)):
                    target = TARGETS[(r + i) % len(TARGETS)]
                    run = one_run(browser, apps[target.app], target, folder / f"{target.app}.log")
                    runs[target.name].append(run)
                    print(f"round {r + 1}  {target.name:<12} drawn {run.wall_s:6.2f} s  server CPU {run.cpu_s:6.2f} s"
                          f"  (healthy after {run.healthy_s:.2f} s)", flush=True)
        finally:
            browser.close()
    return runs


def report(runs: dict[str, list[Run]]) -> float:
    """Prints the medians and ratios; returns app / ÷ bare (wall)."""
    bare_wall = statistics.median(r.wall_s for r in runs["bare"])
    bare_cpu = statistics.median(r.cpu_s for r in runs["bare"])
    print(f"\n{'target':<12} {'runs':>4} {'drawn (median)':>15} {'÷ bare':>7} {'server CPU':>11} {'÷ bare':>7}")
    for name, measured in runs.items():
        wall = statistics.median(r.wall_s for r in measured)
        cpu = statistics.median(r.cpu_s for r in measured)
        print(f"{name:<12} {len(measured):>4} {wall:>13.2f} s {wall / bare_wall:>6.2f}× {cpu:>9.2f} s "
              f"{cpu / bare_cpu:>6.2f}×")
    ratio = statistics.median(r.wall_s for r in runs["app /"]) / bare_wall
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"\napp / ÷ bare = {ratio:.2f} ({verdict} the {TARGET_RATIO}× target)")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each, no warm-up (for tests)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each target (default 5)")
    args = parser.parse_args(argv)
    runs = measure(1 if args.quick else args.rounds, warmup=not args.quick)
    report(runs)
    if args.quick:
        print("quick mode: one run each, figures are indicative only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
