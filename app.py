"""Autoencoder Explorer: entry point. `streamlit run app.py` (see README)."""

import streamlit as st

from ui import projector
from ui.legacy_pages import mark_routed

# An emoji favicon is drawn inline (a data: URL); a :material/…: one is fetched from fonts.gstatic.com, which fails
# offline. The pages' :material/…: icons are fine: their font ships with Streamlit.
st.set_page_config(page_title="Autoencoder Explorer", page_icon="🧭", layout="wide")

# In the lesson's order (ui/lesson.py), so the menu, Home's numbered steps and Next/Back agree.
PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/reconstructions.py", title="Reconstructions", icon=":material/compare:", url_path="reconstructions"),
    st.Page("pages/denoising.py", title="Denoising", icon=":material/blur_off:", url_path="denoising"),
    st.Page("pages/latent.py", title="Latent manifold", icon=":material/explore:", url_path="latent"),
    st.Page("pages/features.py", title="Hidden-unit features", icon=":material/grid_view:", url_path="features"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/about.py", title="About / lesson", icon=":material/school:", url_path="about"),
]



def draw_sidebar() -> bool:
    """The sidebar; True when it now shows another model than the last run did."""
    with st.sidebar, st.spinner("Loading the models…"):  # shows only if it takes over 0.5 s: a cold server
        from ui.sidebar import MODEL_CHANGED_KEY, sidebar  # noqa: PLC0415 (imports torch and the models)
    st.session_state["model_choice"] = sidebar(page.url_path, top)
    return st.session_state[MODEL_CHANGED_KEY]


page = st.navigation(PAGES)
mark_routed()
projector.apply()  # projector mode (?present=1) and the busy indicator, before anything slow
top = st.container()  # above the page: a link's notice, the spinner while a model loads
if page.url_path == "":  # Home needs no model: drawn first, it shows at once while the sidebar loads one
    with st.container():
        page.run()
    draw_sidebar()
else:
    # Another model: the old page goes at once, so its numbers never show beside the new model's name; otherwise
    # a container keeps the page in place while it is redrawn (no flicker).
    with projector.cleared_slot().container() if draw_sidebar() else st.container():
        page.run()
