"""The one way the app tests open the app in AppTest: `app_test()`.

Why not `AppTest.from_file` directly: Streamlit 1.67's AppTest scans the metadata of every installed distribution
for Components-v2 manifests the first time each AppTest instance runs (`discover_and_register_components`; ~0.26 s
with this environment's ~290 packages, most of a warm page run), and the app tests make hundreds of instances. The
scan's answer cannot change while the tests run, so every AppTest made here shares one registry filled by that same
scan, as every session of a real server shares one. That means setting AppTest's private `_bidi_component_manager`;
tests/app/test_apptest.py fails when Streamlit renames it or stops scanning per instance.
"""

from __future__ import annotations

import functools

from streamlit.components.v2.component_manager import BidiComponentManager
from streamlit.testing.v1 import AppTest

from tests import ROOT


@functools.cache
def shared_components() -> BidiComponentManager:
    """The installed Components-v2 packages, scanned once per test process (as AppTest itself scans them)."""
    registry = BidiComponentManager()
    registry.discover_and_register_components(start_file_watching=False)
    return registry


def app_test(default_timeout: float = 120, script: str = str(ROOT / "app.py")) -> AppTest:
    """AppTest for app.py (its navigation, as a browser would see it), sharing the scanned component registry."""
    at = AppTest.from_file(script, default_timeout=default_timeout)
    at._bidi_component_manager = shared_components()
    return at
