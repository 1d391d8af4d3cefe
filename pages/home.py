"""Home: what the app shows, and a way into each page. The default page, served at /."""

import streamlit as st

from ui.legacy_pages import ensure_routed  # light: Home is drawn before torch is imported (app.py)

ensure_routed()
st.title("Autoencoder Explorer")
st.markdown(
    "An autoencoder squeezes an image into a short **code** $h = f(Wx + b)$ and rebuilds it, "
    "$\\hat x = g(W'h + b')$. Every picture here is computed live from trained models on held-out images "
    "the models never saw. Pick a dataset and model in the sidebar; every view's settings are in the address "
    "bar, so you can share a link to exactly what you see."
)

TOURS = [
    ("pages/reconstructions.py", ":material/compare:", "Reconstructions",
     "Originals beside their reconstructions, with each image's error. Upload a photo or draw a digit."),
    ("pages/denoising.py", ":material/blur_off:", "Denoising",
     "Add Gaussian, masking or salt-and-pepper noise and compare a denoising AE with a plain one (PSNR, SSIM)."),
    ("pages/features.py", ":material/grid_view:", "Hidden-unit features",
     "What each hidden unit reads and writes: tied W' = Wᵀ against untied W', and decoding with f against f⁻¹."),
    ("pages/latent.py", ":material/explore:", "Latent manifold",
     "Walk the 2-D code plane with sliders, click a digit's code, interpolate, sample a VAE, find a plain AE's holes."),
    ("pages/train.py", ":material/model_training:", "Train",
     "Train your own autoencoder (any kind, any regulariser) on digits, faces or your own images, and watch its loss."),
    ("pages/about.py", ":material/school:", "About / lesson",
     "The notation and losses, the two questions answered, and which kind of autoencoder to use when."),
]

columns = st.columns(3)
for i, (page, icon, title, text) in enumerate(TOURS):
    with columns[i % 3].container(border=True, height="stretch"):
        st.page_link(page, label=f"**{title}**", icon=icon)
        st.caption(text)
