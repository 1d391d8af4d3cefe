"""The Streamlit side of the app: shared pieces by concern, one sub-package per page, the latent-plane component."""
