"""pandas imported once, before any page draws a plotly figure: a workaround for a race between two libraries.

plotly checks each value it is given against pandas through sys.modules, without importing pandas
(_plotly_utils.basevalidators.is_homogeneous_array: get_module("pandas", should_load=False)). Streamlit imports
pandas lazily, on a server's first st.dataframe. When that import is under way in one session's script thread while
another session builds a plotly figure, plotly finds the half-imported module and that page fails with
"partially initialized module 'pandas' has no attribute 'Series'" (seen with twenty sessions, benchmarks/load.py).
ui/__init__.py imports this module, so pandas is whole before any page code runs: Python's module lock makes the
other script threads wait while ui is imported. tests/unit/test_pandas_first.py fails when plotly stops peeking.
"""

import pandas  # noqa: F401
