"""How pytest.ini shares the suite between its test workers, checked on a small suite of its own: the setting
the suite relies on must do what it says with the pytest and pytest-xdist installed here.

`--dist loadfile` sends each test file, whole and in order, to one worker: a browser test module then starts its app
server and Chromium once. pytest-xdist 3.8's `--dist loadgroup` (xdist_group marks) does nothing under pytest 9.2:
it renames `item._nodeid`, which pytest 9 no longer reads, so every marked test was scheduled on its own; the
second test below fails when that changes, so the choice can be made again."""

from __future__ import annotations

import configparser
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


def workers_per_file(tmp_path, dist: str, mark: str = "") -> dict[str, set[str]]:
    for name in ("test_one.py", "test_two.py"):
        (tmp_path / name).write_text(FILE.format(mark=mark))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", dist,
                           str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
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
