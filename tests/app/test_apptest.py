"""The workaround in tests/app/apptest.py: it fails when Streamlit changes what that module relies on."""

import streamlit.components.v2.manifest_scanner as scanner
from streamlit.testing.v1 import AppTest

from tests.app.apptest import app_test, shared_components

SCRIPT = "import streamlit as st\nst.write('hello')\n"


def counting_scans(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = scanner.scan_component_manifests

    def scan(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(scanner, "scan_component_manifests", scan)
    return calls


def test_a_plain_apptest_still_scans_the_installed_packages_once_per_instance(monkeypatch):
    scans = counting_scans(monkeypatch)
    for _ in range(2):
        at = AppTest.from_string(SCRIPT)
        assert at._bidi_component_manager is None  # the attribute app_test() sets, still there and still empty
        at.run()
        at.run()
        assert not at.exception and at.markdown[0].value == "hello"
    assert len(scans) == 2  # one scan per instance, not per run: the cost app_test() avoids


def test_app_test_reuses_one_scan_and_its_pages_still_draw_their_components(monkeypatch):
    shared_components()
    scans = counting_scans(monkeypatch)
    first, second = app_test(), app_test()
    assert first._bidi_component_manager is second._bidi_component_manager is shared_components()
    first.switch_page("pages/latent.py").run()
    second.run()
    assert scans == [] and not first.exception and not second.exception
