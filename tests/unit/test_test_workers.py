"""How pytest.ini shares the suite between its test workers, checked on a small suite of its own: the setting
the suite relies on must do what it says with the pytest and pytest-xdist installed here.

`--dist loadfile` sends each test file, whole and in order, to one worker: a browser test module then starts its app
server and Chromium once. pytest-xdist 3.8's `--dist loadgroup` (xdist_group marks) does nothing under pytest 9.2:
it renames `item._nodeid`, which pytest 9 no longer reads, so every marked test was scheduled on its own; the
third test below fails when that changes, so the choice can be made again. Last, the lock that keeps a
browser test marked `alone` from running beside another browser test."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests import ROOT

pytestmark = pytest.mark.slow  # starts pytest with two worker processes

FILE = textwrap.dedent("""
    import os, pathlib, pytest

    {mark}
    @pytest.mark.parametrize("i", range(6))
    def test_records_its_worker(i):
        pathlib.Path(__file__).with_suffix(f".{{i}}.worker").write_text(os.environ["PYTEST_XDIST_WORKER"])
""")


def run_suite(folder, dist: str) -> None:
    """pytest on `folder` with two workers (the repository importable, for tests.conftest's pieces)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", dist,
                           str(folder)], cwd=folder, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-2000:]


def workers_per_file(tmp_path, dist: str, mark: str = "") -> dict[str, set[str]]:
    for name in ("test_one.py", "test_two.py"):
        (tmp_path / name).write_text(FILE.format(mark=mark))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run_suite(tmp_path, dist)
    return {stem: {p.read_text() for p in tmp_path.glob(f"{stem}.*.worker")} for stem in ("test_one", "test_two")}


def test_the_suite_is_shared_out_a_whole_file_at_a_time():
    ini = configparser.ConfigParser()
    ini.read(ROOT / "pytest.ini")
    assert "--dist loadfile" in ini["pytest"]["addopts"]


def test_loadfile_keeps_each_files_tests_on_one_worker(tmp_path):
    seen = workers_per_file(tmp_path, "loadfile")
    assert all(len(workers) == 1 for workers in seen.values()), seen


def test_loadgroup_still_ignores_its_groups_here(tmp_path):
    """If this fails, xdist_group works again with this pytest: loadgroup could group modules across files."""
    seen = workers_per_file(tmp_path, "loadgroup", mark='pytestmark = pytest.mark.xdist_group("one")')
    assert len(seen["test_one"] | seen["test_two"]) == 2, seen  # one group would have kept all 12 on one worker


ALONE = textwrap.dedent("""
    import json, os, pathlib, time, pytest

    def record(name, start):
        pathlib.Path(__file__).with_name(name + ".json").write_text(
            json.dumps([start, time.monotonic(), os.environ["PYTEST_XDIST_WORKER"]]))

    {tests}
""")


def test_a_test_marked_alone_runs_while_no_other_browser_test_does(tmp_path):
    """tests/conftest.py's machine_share, on a suite of its own: one file's browser tests keep a worker busy while
    the other worker reaches a test marked `alone`; it starts only after the running one ends, and none starts
    before it ends."""
    (tmp_path / "conftest.py").write_text("from tests.conftest import machine_lock, machine_share  # noqa: F401\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    browser: x\n    alone: y\n")
    busy = "\n".join(f"@pytest.mark.browser\ndef test_busy_{i}():\n    t = time.monotonic()\n    time.sleep(0.4)\n"
                     f"    record('busy{i}', t)\n" for i in range(8))
    (tmp_path / "test_busy.py").write_text(ALONE.format(tests=busy))
    alone = ("def test_first():\n    time.sleep(0.5)\n\n"  # so that this worker meets `alone` while busy runs
             "@pytest.mark.browser\n@pytest.mark.alone\ndef test_alone():\n    t = time.monotonic()\n"
             "    time.sleep(1.0)\n    record('alone', t)\n")
    (tmp_path / "test_alone.py").write_text(ALONE.format(tests=alone))
    run_suite(tmp_path, "loadfile")
    start, end, worker = json.loads((tmp_path / "alone.json").read_text())
    busy_runs = [json.loads(p.read_text()) for p in tmp_path.glob("busy*.json")]
    assert len(busy_runs) == 8 and {w for _, _, w in busy_runs} != {worker}  # the other worker ran them
    assert all(b_end <= start or b_start >= end for b_start, b_end, _ in busy_runs), (start, end, busy_runs)
    assert any(b_end > start - 1.5 for _, b_end, _ in busy_runs)  # one was running as `alone` came up: it waited
