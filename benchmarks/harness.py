"""What the browser benchmarks share: Streamlit servers on loopback ports, headless Chromium, waiting for a rerun
to settle, and a server's CPU time read from /proc."""

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
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


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


def wait_idle(page, timeout_ms: int = 90_000) -> None:
    """Until the script state is notRunning and stays so for ~0.5 s."""
    for _ in range(40):
        page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                               "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=timeout_ms)
        page.wait_for_timeout(500)
        if page.get_by_test_id("stApp").get_attribute("data-test-script-state") == "notRunning":
            return
    raise RuntimeError(f"{page.url} never settled")


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
