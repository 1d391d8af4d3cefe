"""The one workaround for plotly and Streamlit importing pandas at different times (ui/pandas_first.py): it is
needed while plotly peeks at sys.modules for pandas, and it works when importing ui leaves pandas whole."""

import inspect
import subprocess
import sys

from _plotly_utils import basevalidators

from tests import ROOT


def test_plotly_still_peeks_at_a_possibly_half_imported_pandas():
    """If this fails, plotly no longer reads pandas from sys.modules without importing it: ui/pandas_first.py may
    be unnecessary; check and remove it."""
    source = inspect.getsource(basevalidators.is_homogeneous_array)
    assert 'get_module("pandas", should_load=False)' in source


def test_importing_ui_imports_pandas_whole():
    code = ("import sys; import ui; pd = sys.modules.get('pandas'); "
            "print(pd is not None and hasattr(pd, 'Series') and hasattr(pd, 'Index'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-1000:]
