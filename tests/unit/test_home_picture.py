"""Home's shipped picture (ui/assets/home.png) is what scripts/home_picture.py computes from the shipped model and
data now: eight held-out digits above their reconstructions."""

import importlib.util

import numpy as np
import pytest
from PIL import Image

from models.catalog import load_catalog
from tests import ROOT


def test_the_shipped_home_picture_is_the_models_reconstructions():
    if "mnist_cae16" not in {entry.name for entry in load_catalog()}:
        pytest.skip("the conv AE is not in the catalog")
    spec = importlib.util.spec_from_file_location("home_picture", ROOT / "scripts" / "home_picture.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    computed = script.home_picture()
    shipped = np.asarray(Image.open(script.OUT))
    side = 28 * script.FACTOR
    assert computed.shape == shipped.shape and shipped.shape[0] >= 2 * side and shipped.shape[1] >= script.N * side
    # One grey level of slack: another CPU may round a float32 sum differently.
    assert np.abs(computed.astype(int) - shipped.astype(int)).max() <= 1
