"""Home's picture: eight held-out MNIST digits above what the shipped conv AE rebuilds from its code. Home draws it
before any model loads (a cold start shows it at once), so it ships as a PNG; tests/unit/test_home_picture.py checks
that this script still gives the same picture.

    .venv/bin/python scripts/home_picture.py   # writes ui/assets/home.png
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

MODEL = "mnist_cae16"
N, SEED, FACTOR = 8, 0, 3  # the Reconstructions page's first eight images at its default seed
OUT = ROOT / "ui" / "assets" / "home.png"


def home_picture() -> np.ndarray:
    """uint8: a row of held-out digits above the row of their reconstructions."""
    from models.catalog import load_catalog  # noqa: PLC0415
    from models.checkpoint import load_checkpoint  # noqa: PLC0415
    from models.data import load_dataset  # noqa: PLC0415
    from ui import pictures  # noqa: PLC0415
    from ui.reconstructions import plots  # noqa: PLC0415

    entry = next(e for e in load_catalog() if e.name == MODEL)
    model, _ = load_checkpoint(entry.path)
    data = load_dataset(entry.dataset, source=entry.data_source)
    index = plots.sample_indices(len(data.test), N, SEED)
    with torch.no_grad():
        x_hat = model.reconstruct(data.test[index])
    return plots.comparison_grid(pictures.to_uint8(data.test[index]), pictures.to_uint8(x_hat), N, FACTOR)


if __name__ == "__main__":
    from ui.pictures import png_bytes  # noqa: PLC0415

    OUT.write_bytes(png_bytes(home_picture()))
    print(f"wrote {OUT.relative_to(ROOT)}")
