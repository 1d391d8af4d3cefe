"""Plain helpers of the Reconstructions and Denoising pages (no streamlit, so they test directly): picking
held-out images, laying out original/reconstruction pairs, the words for a model's error and noise, and the
Denoising page's default pair of models."""

from __future__ import annotations

import numpy as np

from ui.pictures import enlarge, tile

ERROR_LABELS = {"bce": "BCE per image", "mse": "½‖x−x̂‖² per image"}
NOISE_TITLES = {"gaussian": "Gaussian", "masking": "Masking", "salt_pepper": "Salt and pepper"}


# Denoising page defaults per dataset: (denoising model, plain model); missing names fall back (default_pair).
PREFERRED_PAIRS = {"mnist": ("mnist_dcae16", "mnist_cae16"), "olivetti": ("olivetti_dcae32", "olivetti_cae32")}


def error_label(config) -> str:
    """What `model.per_sample_error` measures, in words a caption can carry."""
    return ERROR_LABELS[config.loss]


def sample_indices(total: int, n: int, seed: int, labels: np.ndarray | None = None,
                   cls: int | None = None) -> np.ndarray:
    """`n` of `total` held-out indices drawn without replacement by `seed`, from class `cls` only when given.

    Fewer come back when the class has fewer images. The same arguments always give the same images.
    """
    pool = np.arange(total) if cls is None else np.flatnonzero(np.asarray(labels) == cls)
    return np.random.default_rng(seed).permutation(pool)[:n]


def stack_pair(original: np.ndarray, reconstruction: np.ndarray, factor: int, gap: int = 3) -> np.ndarray:
    """uint8 H×W original above its reconstruction, enlarged, with a white gap between them."""
    spacer = np.full((gap, original.shape[1] * factor), 255, dtype=np.uint8)
    return np.concatenate([enlarge(original, factor), spacer, enlarge(reconstruction, factor)])


def comparison_grid(originals: np.ndarray, reconstructions: np.ndarray, ncols: int, factor: int) -> np.ndarray:
    """uint8 N×H×W pairs → one picture: a row of originals, the row of their reconstructions below, repeated."""
    n, h, w = originals.shape
    ncols = min(ncols, n)
    blank = np.full((h, w), 255, dtype=np.uint8)
    rows = []
    for start in range(0, n, ncols):
        for images in (originals, reconstructions):
            chunk = list(images[start:start + ncols])
            rows += chunk + [blank] * (ncols - len(chunk))
    return enlarge(tile(np.stack(rows), ncols), factor)


def default_pair(dataset: str, configs: dict) -> tuple[str, str]:
    """(denoising model, plain model) names for the Denoising page, from name -> ModelConfig of one dataset.

    Preferred names first; else the first model trained with input noise and the first plain AE trained
    without. The two differ whenever the dataset has two models: with no denoising model at all, the denoising
    side gets another model trained on clean images (the page says so), never the plain one a second time.
    """
    names = list(configs)
    wanted_dae, wanted_plain = PREFERRED_PAIRS.get(dataset, (None, None))
    denoisers = [n for n in names if configs[n].noise != "none"]
    plains = [n for n in names if configs[n].noise == "none" and configs[n].kind == "ae"] or names
    plain = wanted_plain if wanted_plain in configs else plains[0]
    dae = wanted_dae if wanted_dae in configs else (denoisers[0] if denoisers else None)
    if dae is None or dae == plain:
        dae = next((n for n in names if n != plain), plain)
    return dae, plain


def noise_description(kind: str, level: float) -> str:
    amount = f"σ = {level:.2f}" if kind == "gaussian" else f"{level:.0%} of pixels"
    return f"{NOISE_TITLES[kind].lower()} noise, {amount}"


def training_note(config) -> str:
    """How a model was trained, as far as noise goes."""
    if config.noise == "none" or config.noise_level == 0:
        return f"trained on clean images only{' (a VAE)' if config.kind == 'vae' else ''}"
    return f"trained to remove {noise_description(config.noise, config.noise_level)}"
