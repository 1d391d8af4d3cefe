"""The one workaround for plotly and Streamlit importing pandas at different times (ui/pandas_first.py): it is
needed while plotly peeks at sys.modules for pandas; every plotly import in ui/ comes right after it."""

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


def test_every_plotly_import_in_ui_comes_right_after_pandas_first():
    files = [p for p in (ROOT / "ui").rglob("*.py") if "import plotly" in p.read_text()]
    assert files
    for path in files:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith(("import plotly", "from plotly")):
                assert lines[i - 1].strip().startswith("from ui import pandas_first"), f"{path}:{i + 1}"


def test_drawing_a_figure_imports_pandas_whole():
    code = ("import sys; from ui.pictures import loss_curve; assert 'pandas' not in sys.modules; "
            "loss_curve([{'epoch': 1, 'train_loss': 2.0, 'heldout_loss': 3.0}], title='t'); "
            "pd = sys.modules.get('pandas'); print(pd is not None and hasattr(pd, 'Series'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-1000:]
