"""What ui/legacy_pages.py relies on in Streamlit. If one of these fails, Streamlit changed its legacy pages/-folder
mode: read ui/legacy_pages.py's docstring, then mend or drop the guard."""

import inspect

import pytest
import streamlit.commands.navigation as navigation
from streamlit.runtime.pages_manager import PagesManager

from tests import ROOT


@pytest.fixture
def fresh_flag():
    saved = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = None  # as on a server that has not started a session yet
    yield
    PagesManager.uses_pages_directory = saved


def test_an_app_beside_a_pages_folder_still_starts_in_legacy_mode(fresh_flag):
    assert (ROOT / "pages").is_dir()
    PagesManager(str(ROOT / "app.py"))
    assert PagesManager.uses_pages_directory is True  # so a deep link would skip app.py without the guard


def test_an_app_without_a_pages_folder_does_not(fresh_flag, tmp_path):
    (tmp_path / "app.py").write_text("")
    PagesManager(str(tmp_path / "app.py"))
    assert PagesManager.uses_pages_directory is False


def test_st_navigation_still_clears_the_flag_the_guard_clears():
    source = inspect.getsource(navigation.navigation)
    assert "PagesManager.uses_pages_directory = False" in source
    guard = (ROOT / "ui" / "legacy_pages.py").read_text()
    assert "PagesManager.uses_pages_directory = False" in guard
