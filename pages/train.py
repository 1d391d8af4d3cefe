import streamlit as st

st.title("train")
from pages.common import current
st.write(current().title)
