"""The test suite, in tiers: unit/ (plain maths and model-layer code), app/ (each page in Streamlit's AppTest),
browser/ (the real app in headless Chromium, marker `browser`). Marker `slow`: retraining, worker processes and
Redis servers, benchmark quick modes. The everyday command is `pytest -q -m "not browser and not slow"`."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
