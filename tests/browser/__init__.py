"""The real app in headless Chromium (marker `browser`); they run last."""
