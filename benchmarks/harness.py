"""The one browser harness, shared by the browser tests (tests/browser/) and the benchmarks: Streamlit servers on
loopback ports, Debian's headless Chromium (never `playwright install`), waiting for a rerun to settle, and a
server's CPU time and memory read from /proc."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # screenshots and server logs of the browser tests
PAGES = ["", "reconstructions", "denoising", "features", "latent", "train", "about"]  # the app's URL paths
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


# The script run is over and the browser has drawn what it sent. Streamlit loads most element types' code (images,
# selectboxes, tables…) on first use and shows a placeholder (stSkeleton) until it arrives: a slow browser can sit at
# notRunning with half its pictures missing, and a test reading the page then sees later elements before earlier
# ones (CI failed so on the Features page). (Elements are stale only while a run is in progress, so notRunning
# already covers them.)
SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app?.getAttribute('data-test-script-state') === 'notRunning'
         && !document.querySelector('[data-testid="stSkeleton"]');
}"""


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
        stop(process)


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `grace` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_healthy(process: subprocess.Popen, url: str, log: Path, timeout: float = 90.0, poll: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited ({process.returncode}):\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(poll)
    raise RuntimeError(f"server for {url} not healthy after {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def wait_not_running(page, timeout_ms: int = 90_000) -> None:
    """Until SETTLED (notRunning, no element waiting for its code) holds and still holds ~0.5 s later (the
    benchmarks' wait)."""
    for _ in range(40):
        page.wait_for_function(SETTLED, timeout=timeout_ms)
        page.wait_for_timeout(500)
        if page.evaluate(SETTLED):
            return
    raise RuntimeError(f"{page.url} never settled")


@contextlib.contextmanager
def running_app(log_name: str, launcher: tuple[str, ...] = ("-m", "streamlit"), address: str = "127.0.0.1",
                env: dict | None = None):
    """`python <launcher> run app.py` on a free port until the block ends; yields the app's loopback URL.
    Its output goes to test-artifacts/<log_name>."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / log_name).open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, *launcher, "run", "app.py", "--server.port", str(port), "--server.address", address,
             "--server.headless", "true"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while time.time() < deadline:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                raise RuntimeError(f"streamlit did not start; see {ARTIFACTS / log_name}")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def chromium():
    """Debian's headless Chromium under Playwright, until the block ends."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (a test tool, not an app dependency)

    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is missing: run scripts/setup.sh --dev")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_idle(page, timeout=90_000) -> None:
    """Wait until the app is connected, its script (or fragment) run has finished and stayed finished, and no
    element still waits for its code (SETTLED; a picture's own bytes may still be loading)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout)
    page.wait_for_timeout(300)  # a widget's change reaches the server after a short debounce
    deadline = time.time() + timeout / 1000
    quiet = 0
    while time.time() < deadline:
        quiet = quiet + 1 if page.evaluate(SETTLED) else 0
        if quiet >= 4:
            return
        page.wait_for_timeout(150)
    raise AssertionError("the app did not finish running")


def assert_no_exception(page, name: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{name}: {exceptions.first.inner_text()}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
