import streamlit as st

st.title("latent")
from pages.common import current
st.write(current().title)
