"""Autoencoder Explorer: entry point. `streamlit run app.py` (see README)."""

import streamlit as st

from pages.common import sidebar

st.set_page_config(page_title="Autoencoder Explorer", page_icon="🧭", layout="wide")

PAGES = [
    st.Page("pages/reconstructions.py", title="Reconstructions", icon="🖼️", url_path="reconstructions",
            default=True),
    st.Page("pages/denoising.py", title="Denoising", icon="🧹", url_path="denoising"),
    st.Page("pages/features.py", title="Hidden-unit features", icon="🔬", url_path="features"),
    st.Page("pages/latent.py", title="Latent manifold", icon="🗺️", url_path="latent"),
    st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
    st.Page("pages/about.py", title="About / lesson", icon="📖", url_path="about"),
]

page = st.navigation(PAGES)
st.session_state["model_choice"] = sidebar()
page.run()
