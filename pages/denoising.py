import streamlit as st

st.title("denoising")
from pages.common import current
st.write(current().title)
