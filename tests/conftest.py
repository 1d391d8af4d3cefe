"""Test ordering: the layers run from the maths up, and the real browser last."""

import sys

import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def navigation_only(request, monkeypatch):
    """AppTest resets Streamlit's legacy pages/-folder flag for each app; keep it off so switch_page goes
    through app.py as in a running server (where ui.legacy_pages.ensure_routed turns it off on a deep link).
    Tests marked `legacy_pages` keep Streamlit's own behaviour, to check that guard."""
    from streamlit.runtime.pages_manager import PagesManager

    if request.node.get_closest_marker("legacy_pages"):
        return
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
