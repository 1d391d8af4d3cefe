"""A class on one server or several: S browser sessions on loopback, T of them training while the others explore
the latent page. Every figure beside a reference measured in the same run.

    .venv/bin/python benchmarks/load.py [--quick] [--sessions 20] [--trainers 5] [--pool process|thread]
    .venv/bin/python benchmarks/load.py --queue-url local|redis://host:port/db [--servers 2] [--workers 2] ...

Without --queue-url the app trains in its embedded queue (one server). With it, every server is pointed at that
Redis (`local`: a redis-server of the benchmark's own on a loopback port) and --workers `python -m
models.jobs.worker` processes train the runs; sessions are spread over --servers app servers in turn.

1. Alone: the explorers step the z1 slider of /latent?model=mnist_vae2 with nothing training (the slider
   reference), then one trainer trains the Train page's defaults with nobody else training (the run-time
   reference).
2. The class: the T trainers press Train together (default settings) and the explorers keep stepping until every
   run has ended. Printed: failures (page errors, exceptions on a page, steps with no answer in 60 s, runs that
   did not end), each trainer's wait in the queue and run time (as its page says) and its wall time from the click
   to the finished page, p50/p95 of a slider step (keydown → Python's answer reaches the plane), and the memory of
   the servers and of the processes that train (RSS of the servers; PSS of their children and of the workers).
Target on the 2-core server: 0 failures, every run ends, slider p95 < 3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, percentile, rss_megabytes, serve,  # noqa: E402
                                wait_healthy)
from benchmarks.latency import CAPTION, PROBE_JS, Target, open_target  # noqa: E402
from benchmarks.services import redis_server, workers  # noqa: E402
from models.jobs.sizing import available_cpus  # noqa: E402

STEP_TIMEOUT_MS = 60_000
PROMISE = re.compile(r"should take about ([0-9.]+) s once they start")
DONE = re.compile(r"Trained (\d+) epochs? in ([0-9.]+) (s|min)(?: after ([0-9]+) s in the queue)?")


@dataclass
class Trainer:
    name: str
    page: object = None
    clicked: float = 0.0
    finished: float | None = None
    promised: float | None = None  # what the page said the defaults would take, before any run
    model_before: str | None = None  # the model in the page's URL before Train was pressed
    text: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def run_seconds(self) -> float | None:
        match = DONE.search(self.text)
        return None if match is None else float(match[2]) * (60 if match[3] == "min" else 1)

    @property
    def wait_seconds(self) -> float:
        match = DONE.search(self.text)
        return float(match[4]) if match and match[4] else 0.0


# --- the server's memory --------------------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """pid's children, grandchildren… (the forkserver and the pool's workers) from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found.append(int(child))
                    todo.append(int(child))
    return found


def pss_megabytes(pid: int) -> float:
    """Proportional set size: the pool's processes share the pages they forked with (torch, the data), which RSS
    would count once per process."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


class MemorySampler(threading.Thread):
    """RSS of the servers, and PSS of the processes that train (the servers' children, the workers and theirs),
    twice a second, with the phase it was taken in."""

    def __init__(self, servers: list[int], workers: list[int] = ()):
        super().__init__(daemon=True)
        self.servers, self.workers = servers, list(workers)
        self.samples, self.phase, self.stopped = [], "start", threading.Event()
        self.start_time = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            with contextlib.suppress(OSError, ValueError):
                trainers = [p for pid in self.servers for p in descendants(pid)]
                trainers += [p for pid in self.workers for p in [pid, *descendants(pid)]]
                pool = sum(pss_megabytes(p) for p in trainers)
                server = sum(rss_megabytes(pid) for pid in self.servers)
                self.samples.append((time.monotonic() - self.start_time, self.phase, server, pool))


# --- sessions ----------------------------------------------------------------------------------------------
def open_trainer(context, url: str, trainer: Trainer) -> None:
    page = context.new_page()
    page.on("pageerror", lambda error: trainer.errors.append(str(error)))
    page.goto(f"{url}/train", wait_until="domcontentloaded", timeout=90_000)
    page.get_by_role("button", name="Train").first.wait_for(timeout=90_000)
    trainer.page = page
    promise = PROMISE.search(" ".join(page.locator('[data-testid="stAlert"]').all_inner_texts()))
    trainer.promised = float(promise[1]) if promise else None


def model_in_url(page) -> str | None:
    return parse_qs(urlparse(page.url).query).get("model", [None])[0]


def press_train(trainer: Trainer) -> None:
    """Press Train; returns once the page shows the new run, or its end: a run on an idle worker can end before
    the page has drawn it training, and its model (a new name in the URL) is then selected at once."""
    page = trainer.page
    trainer.model_before = model_in_url(page)
    page.get_by_role("button", name="Train").first.click()
    trainer.clicked = time.monotonic()
    try:
        page.wait_for_function("before => document.querySelector('[data-testid=\"stMain\"]').innerText"
                               ".includes('Training Dense AE') || new URL(location.href).searchParams.get('model') "
                               "!== before", arg=trainer.model_before, timeout=90_000)
    except Exception:  # noqa: BLE001 (said as this trainer's failure, with what its page shows)
        shown = page.locator('[data-testid="stMain"]').inner_text()[:600].replace("\n", " | ")
        trainer.errors.append(f"no run 90 s after Train; the page shows: {shown}")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"load-{trainer.name.replace(' ', '-')}-no-run.png"))


def check_trainer(trainer: Trainer) -> None:
    if trainer.finished is not None:
        return
    page = trainer.page
    live = page.get_by_text("Training Dense AE").count()
    if not live and page.get_by_text("Last run:").count() and model_in_url(page) != trainer.model_before:
        trainer.finished = time.monotonic()
        alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
        trainer.text = next((t for t in alerts if "Trained" in t or "ended" in t or "diverged" in t),
                            " | ".join(alerts))
        if page.locator('[data-testid="stException"]').count():
            trainer.errors.append("an exception is shown on the Train page")
        if not DONE.search(trainer.text):
            trainer.errors.append(f"the run did not train to the end: {trainer.text[:200]}")


def not_ended(trainer: Trainer, timeout: float) -> str:
    shown = " | ".join(trainer.page.locator('[data-testid="stMain"] h3, [data-testid="stAlert"], '
                                           '[data-testid="stProgress"]').all_inner_texts())
    return f"the run had not ended after {timeout:.0f} s; its page shows: {shown[:300]}"


def step_round(explorers: list[Target], into: list[float]) -> int:
    """Every explorer presses an arrow key on its z1 slider at once; the times until Python's answer reaches the
    plane go to `into`; returns the steps with no answer."""
    failed = 0
    for target in explorers:
        state = target.slider.evaluate(PROBE_JS, CAPTION)
        if state["value"] >= state["high"]:
            target.direction = "ArrowLeft"
        elif state["value"] <= state["low"]:
            target.direction = "ArrowRight"
    for target in explorers:
        target.page.keyboard.press(target.direction)
    for target in explorers:
        try:
            target.page.wait_for_function("() => window.__probe.server !== null", timeout=STEP_TIMEOUT_MS)
            probe = target.page.evaluate("() => window.__probe")
            into.append(probe["server"] - probe["t0"])
        except Exception as error:  # noqa: BLE001 (a step with no answer is a failure, counted)
            failed += 1
            target.errors.append(f"step: {str(error)[:200]}")
    return failed


def run_class(urls: list[str], memory: MemorySampler, sessions: int, trainers: int, rounds: int,
              timeout: float) -> dict:
    from playwright.sync_api import sync_playwright

    result = {"failed_steps": 0, "alone_steps": [], "class_steps": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            new = lambda: browser.new_context(viewport={"width": 1280, "height": 720})  # noqa: E731
            explorers = [Target(f"explorer {i}", f"{urls[i % len(urls)]}/latent?model=mnist_vae2")
                         for i in range(sessions - trainers)]
            for target in explorers:
                open_target(new(), target)
                target.page.wait_for_function("() => window.__aex && window.__aex.planes.size > 0", timeout=90_000)
                target.slider.focus()
            class_trainers = [Trainer(f"trainer {i + 1}") for i in range(trainers)]
            for i, trainer in enumerate(class_trainers):
                open_trainer(new(), urls[(i + sessions - trainers) % len(urls)], trainer)
            reference = Trainer("alone", page=class_trainers[0].page)  # trainer 1 trains alone first

            memory.phase = "alone"
            for _ in range(rounds):
                result["failed_steps"] += step_round(explorers, result["alone_steps"])
            # The reference: a run on a warm pool (the first run of a fresh server also waits for its workers).
            warm_up = Trainer("warm-up", page=reference.page)
            for run in (warm_up, reference):
                press_train(run)
                deadline = time.monotonic() + timeout
                while run.finished is None and time.monotonic() < deadline:
                    time.sleep(0.25)
                    check_trainer(run)
                if run.finished is None:  # said as a failure, not as a Train button that never comes back
                    reference.errors.append(f"{run.name}: {not_ended(run, timeout)}")
                    break

            memory.phase = "class"
            for trainer in class_trainers:
                press_train(trainer)
            deadline = time.monotonic() + timeout
            done_rounds = 0
            while time.monotonic() < deadline and (done_rounds < rounds or
                                                   any(t.finished is None for t in class_trainers)):
                result["failed_steps"] += step_round(explorers, result["class_steps"])
                done_rounds += 1
                for trainer in class_trainers:
                    check_trainer(trainer)
            memory.phase = "after"
            time.sleep(2)
            for trainer in class_trainers:
                if trainer.finished is None:
                    trainer.errors.append(not_ended(trainer, timeout))
            exceptions = sum(t.page.locator('[data-testid="stException"]').count() for t in explorers)
            result.update(reference=reference, trainers=class_trainers, rounds=done_rounds,
                          page_errors=sum(len(t.errors) for t in explorers) + exceptions)
        finally:
            browser.close()
    return result


# --- report -----------------------------------------------------------------------------------------------------
def report(result: dict, memory: MemorySampler, sessions: int, engine: str) -> int:
    reference, trainers = result["reference"], result["trainers"]
    failures = result["failed_steps"] + result["page_errors"] + sum(len(t.errors) for t in [reference, *trainers])
    print(f"A class on {engine}: {sessions} sessions, {len(trainers)} training the Train page's defaults at once, "
          f"{sessions - len(trainers)} stepping the latent page's z1 slider ({os.cpu_count()} cores)\n")
    print(f"failures: {failures} (steps with no answer {result['failed_steps']}, explorer page errors "
          f"{result['page_errors']}, trainer errors {sum(len(t.errors) for t in [reference, *trainers])})")
    for trainer in [reference, *trainers]:
        for error in trainer.errors:
            print(f"   {trainer.name}: {error}")
    alone = reference.run_seconds or float("nan")
    print(f"\n{'trainer':>10} {'wait s':>7} {'run s':>7} {'run / alone':>12} {'click → done s':>15}")
    for trainer in [reference, *trainers]:
        run = trainer.run_seconds
        wall = (trainer.finished - trainer.clicked) if trainer.finished else float("nan")
        print(f"{trainer.name:>10} {trainer.wait_seconds:>7.0f} {run if run is not None else float('nan'):>7.1f} "
              f"{(run or float('nan')) / alone:>12.2f} {wall:>15.1f}")
    print(f"   every run ended: {all(t.finished is not None and not t.errors for t in trainers)}; the page promised "
          f"the defaults about {trainers[0].promised} s before any run (its estimate; it then learns from the runs)")
    a, c = result["alone_steps"], result["class_steps"]
    print(f"\nslider step → Python's answer (ms){'':>6} {'steps':>6} {'p50':>7} {'p95':>7} {'p95 / alone p95':>16}")
    for label, values in (("explorers alone", a), ("while the class trains", c)):
        if values:
            print(f"{label:>40} {len(values):>6} {statistics.median(values):>7.0f} {percentile(values, 0.95):>7.0f} "
                  f"{percentile(values, 0.95) / percentile(a, 0.95):>16.2f}")
    print("   target: 0 failures, every run ends, slider p95 < 3 s\n")
    print("memory over time (MB: the servers' RSS, and the PSS of the processes that train; the largest in each "
          "5-second slice)")
    print(f"{'t s':>6} {'phase':>7} {'servers':>7} {'trainers':>8}")
    slices: dict[int, tuple] = {}
    for t, phase, server, pool_mb in memory.samples:
        key = int(t // 5)
        old = slices.get(key)
        slices[key] = (key * 5, phase, max(server, old[2] if old else 0), max(pool_mb, old[3] if old else 0))
    for start, phase, server, pool_mb in slices.values():
        print(f"{start:>6} {phase:>7} {server:>7.0f} {pool_mb:>8.0f}")
    return 1 if failures else 0  # a failure is the benchmark's verdict, whatever the timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 sessions, 1 trainer (a minute or two; for tests)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--trainers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10, help="slider rounds at least, in each phase")
    parser.add_argument("--pool", choices=["process", "thread"], default="process", help="the embedded queue's kind")
    parser.add_argument("--queue-url", default=None, help="train through this Redis (local: start one here)")
    parser.add_argument("--servers", type=int, default=None, help="app servers (default 2 with --queue-url, else 1)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes with --queue-url")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the runs to end")
    args = parser.parse_args(argv)
    if args.quick:
        args.sessions, args.trainers, args.rounds, args.timeout = 3, 1, 2, 300.0
    servers = args.servers or (2 if args.queue_url else 1)
    with contextlib.ExitStack() as stack:
        ARTIFACTS.mkdir(exist_ok=True)
        logs = [ARTIFACTS / f"load-app-{i}.log" for i in range(servers)]  # kept, to read after a failure
        env = {"AEX_TRAIN_POOL": args.pool}
        worker_pids: list[int] = []
        if args.queue_url:
            url = stack.enter_context(redis_server()) if args.queue_url == "local" else args.queue_url
            env = {"AEX_QUEUE_URL": url}
            threads = max(1, available_cpus() // args.workers)  # as `--workers N` would share the cores
            procs = stack.enter_context(workers(url, args.workers, log_name="load-workers.log", threads=threads))
            worker_pids = [p.pid for p in procs]
            engine = (f"{servers} servers sharing one Redis queue with {args.workers} worker"
                      f"{'s' if args.workers > 1 else ''}")
        else:
            engine = f"one server, its embedded queue ({args.pool}es)"
        os.environ.update(env)  # the servers inherit it: models.jobs.open_queue
        started = [stack.enter_context(serve(ROOT / "app.py", logs[i])) for i in range(servers)]
        for i, (process, url) in enumerate(started):
            wait_healthy(process, url, logs[i])
        memory = MemorySampler([process.pid for process, _ in started], worker_pids)
        memory.start()
        try:
            result = run_class([url for _, url in started], memory, args.sessions, args.trainers, args.rounds,
                               args.timeout)
        finally:
            memory.stopped.set()
        code = report(result, memory, args.sessions, engine)
        if any(t.errors for t in [result["reference"], *result["trainers"]]):
            for i in range(servers):
                print(f"\nserver {i}'s log, last lines:\n" + logs[i].read_text()[-3000:])
    if args.quick:
        print("quick mode: 3 sessions, 1 trainer; the figures mean little")
    return code


if __name__ == "__main__":
    sys.exit(main())
