import streamlit as st

st.title("about")
from pages.common import current
st.write(current().title)
