"""pandas imported once, before any page draws a plotly figure: a workaround for a race between two libraries.

plotly checks each value it is given against pandas through sys.modules, without importing pandas
(_plotly_utils.basevalidators.is_homogeneous_array: get_module("pandas", should_load=False)). Streamlit imports
pandas lazily, on a server's first st.dataframe. When that import is under way in one session's script thread while
another session builds a plotly figure, plotly finds the half-imported module and that page fails with
"partially initialized module 'pandas' has no attribute 'Series'" (seen with twenty sessions, benchmarks/load.py).
Every place in ui/ that imports plotly imports this module just before, so pandas is whole before any figure is
built: Python's module lock makes this thread wait while another is importing pandas. Like plotly, it is imported
only where a figure is drawn, so it stays off the start-up path. tests/unit/test_pandas_first.py fails when plotly
stops peeking.
"""

import pandas  # noqa: F401
