"""Home: one picture and one sentence, then the lesson path, numbered in the order of the sidebar. The default
page, served at /."""

from pathlib import Path

import streamlit as st

from models.catalog import load_catalog  # JSON only: Home is drawn before torch is imported (app.py)
from ui import lesson
from ui.legacy_pages import ensure_routed

PICTURE = Path(__file__).resolve().parent.parent / "ui" / "assets" / "home.png"  # scripts/home_picture.py
PICTURE_MODEL = "mnist_cae16"

ensure_routed()
st.title("Autoencoder Explorer")
code = next((entry.latent for entry in load_catalog() if entry.name == PICTURE_MODEL), None)
if code is not None and PICTURE.exists():
    st.markdown(f"An autoencoder squeezes each 28×28 digit (784 pixels) into a code of **{code} numbers** and "
                f"rebuilds the image from it: top, held-out digits it never saw; bottom, what it rebuilt.")
    with st.container(key="key_picture"):
        st.image(str(PICTURE), output_format="PNG")
else:
    st.markdown("An autoencoder squeezes each image into a short code and rebuilds the image from it.")
st.markdown("**The lesson, in six steps** (also the order of the pages in the menu):")
lesson.step_cards()
with st.expander("About this app, and sharing a view"):
    st.markdown(
        "Every picture here is computed live from trained models on held-out images the models never saw: "
        "an encoder makes the code $h = f(Wx + b)$, a decoder the image $\\hat x = g(W'h + b')$. Every view's "
        "settings are in the address bar, so a link opens exactly what you see; add `?present=1` for a projector. "
        "The pages and the dataset and model pickers are in the side menu (when it is folded away, the arrow at "
        "the top left opens it)."
    )
    st.page_link(lesson.ABOUT.page, label="Lesson plan: what to show and ask at each step", icon=lesson.ABOUT.icon,
                 query_params=lesson.link_query(lesson.ABOUT) or None)
lesson.footer("")
