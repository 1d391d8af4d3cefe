import streamlit as st

st.title("features")
from pages.common import current
st.write(current().title)
