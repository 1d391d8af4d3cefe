"""A fresh server runs its first deep link in Streamlit's legacy pages/-folder mode, skipping app.py.
Every page must send such a request back through app.py (ui.legacy_pages.ensure_routed) before drawing anything."""

import ast

import pytest

from tests import ROOT
from tests.app.apptest import app_test

PAGE_FILES = [node.args[0].value for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
              if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"]


def test_app_lists_every_page_file():
    assert len(PAGE_FILES) == 7 and all((ROOT / p).is_file() for p in PAGE_FILES)


@pytest.mark.legacy_pages
@pytest.mark.parametrize("page", PAGE_FILES)
def test_a_deep_link_in_legacy_mode_still_goes_through_app_py(page):
    at = app_test()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="sidebar_model").value  # the sidebar came from app.py
    assert "model_choice" in at.session_state
