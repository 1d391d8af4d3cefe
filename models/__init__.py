"""Autoencoder model layer: plain PyTorch and NumPy, never streamlit.

Submodules are imported by name (``from models.data import load_dataset``); nothing heavy runs here.
"""
