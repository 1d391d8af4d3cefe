import streamlit as st

st.title("reconstructions")
from pages.common import current
st.write(current().title)
