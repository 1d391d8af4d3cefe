"""Each page in Streamlit's AppTest: no browser, no server."""
