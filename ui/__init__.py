"""The Streamlit side of the app: shared pieces by concern, one sub-package per page, the latent-plane component."""

from ui import pandas_first  # noqa: F401 (before any page builds a plotly figure: see that module)
