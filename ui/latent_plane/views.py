"""What each latent plane of the app shows, as plain data (no streamlit, so it tests directly): the plane's
coordinates for a 2-D code, for the first two principal directions of a wider code, and for the Holes
comparison (and any map of codes); the payload the browser receives (with a VAE's posteriors); the held-out code
nearest to a z, and the one a pin sits on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from models.analysis.latent import Principal
from models.analysis.posterior import ellipses, posterior_stats
from models.autoencoders import Autoencoder
from models.data import Dataset
from models.decoder_program import decoder_program
from ui.latent.plots import SliderRange, nice_step
from ui.latent_plane.payload import PlaneSpec, pack
from ui.pictures import to_uint8

# Above these a decoder stays on the server: the payload would take long to send, or a decode a frame to run.
MAX_BROWSER_WEIGHTS = 8_000_000  # floats: 32 MB
MAX_BROWSER_MULTIPLY_ADDS = 60_000_000
ARROW_STEPS = 50  # arrow-key moves across a plane's width (Shift: ten at a time)
MIN_SPREAD = 1e-3


@dataclass(frozen=True)
class BrowserVerdict:
    ok: bool
    reason: str = ""


def browser_can_decode(model: Autoencoder) -> BrowserVerdict:
    """Whether the plane can decode this model in the browser at screen rate; the reason when it cannot."""
    program = decoder_program(model, with_weights=False)
    if program.weight_count > MAX_BROWSER_WEIGHTS:
        return BrowserVerdict(False, f"its decoder has {program.weight_count / 1e6:.1f} million weights, more than "
                                     f"the {MAX_BROWSER_WEIGHTS / 1e6:.0f} million sent to a browser")
    if program.multiply_adds > MAX_BROWSER_MULTIPLY_ADDS:
        return BrowserVerdict(False, f"one decode costs {program.multiply_adds / 1e6:.0f} million multiply-adds, "
                                     f"too many to run on every pointer move")
    return BrowserVerdict(True)


def _arrow_step(low: float, high: float) -> float:
    return nice_step(high - low, ARROW_STEPS)


def latent_plane(bounds: tuple[SliderRange, SliderRange], grid: tuple[float, float, float, float]) -> PlaneSpec:
    """A 2-D code: the plane is (z1, z2) over the sliders' ranges, with the decoded grid's extent dashed."""
    bx, by = bounds
    return PlaneSpec(mode="latent", x_label="z1", y_label="z2", extent=(bx.low, bx.high, by.low, by.high),
                     bounds=(bx.low, bx.high, by.low, by.high),
                     step=(_arrow_step(bx.low, bx.high), _arrow_step(by.low, by.high)),
                     start=(bx.default, by.default), v1=(1.0, 0.0), v2=(0.0, 1.0), base=(0.0, 0.0), grid=grid)


def pca_plane(pca: Principal, limit: float) -> PlaneSpec:
    """A wider code: the plane is PC1–PC2 of the held-out codes in latent units, z = base + x·v1 + y·v2, where
    base = mean + the other principal directions' slider values (sent by the page as they move)."""
    # Codes that do not vary along a direction (σ = 0) still get a plane to draw on.
    s1, s2 = (max(float(v), MIN_SPREAD) for v in pca.std[:2])
    e1, e2 = (float(v) for v in pca.explained[:2])
    reach = (limit * 1.1 * s1, limit * 1.1 * s2)
    return PlaneSpec(mode="pca", x_label=f"PC1 ({e1:.0%} of variance)", y_label=f"PC2 ({e2:.0%} of variance)",
                     extent=(-reach[0], reach[0], -reach[1], reach[1]),
                     bounds=(-limit * s1, limit * s1, -limit * s2, limit * s2),
                     step=(_arrow_step(-limit * s1, limit * s1), _arrow_step(-limit * s2, limit * s2)),
                     start=(0.0, 0.0), v1=_floats(pca.directions[0]), v2=_floats(pca.directions[1]),
                     base=_floats(pca.mean), std=(s1, s2))


def codes_plane(codes: torch.Tensor, regions: Sequence[tuple[float, float, float, float]] = ()) -> PlaneSpec:
    """A 2-D code over every held-out code and every region the page may outline (Holes)."""
    x0 = min([float(codes[:, 0].min())] + [r[0] for r in regions])
    x1 = max([float(codes[:, 0].max())] + [r[1] for r in regions])
    y0 = min([float(codes[:, 1].min())] + [r[2] for r in regions])
    y1 = max([float(codes[:, 1].max())] + [r[3] for r in regions])
    pad_x, pad_y = 0.04 * (x1 - x0) or 1.0, 0.04 * (y1 - y0) or 1.0
    extent = (x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y)
    centre = regions[0] if regions else extent
    return PlaneSpec(mode="latent", x_label="z1", y_label="z2", extent=extent, bounds=extent,
                     step=(_arrow_step(extent[0], extent[1]), _arrow_step(extent[2], extent[3])),
                     start=((centre[0] + centre[1]) / 2, (centre[2] + centre[3]) / 2), v1=(1.0, 0.0),
                     v2=(0.0, 1.0), base=(0.0, 0.0))


def plane_payload(plane_id: str, title: str, model: Autoencoder, spec: PlaneSpec, xy: torch.Tensor,
                  codes: torch.Tensor, data: Dataset, with_images: bool = True) -> bytes:
    """with_images=False leaves out the held-out images (e.g. a frame of a model while it trains, sent each
    second: the plane then names the nearest image's class without showing it) and a VAE's posteriors.
    A VAE's payload carries each held-out image's σ and its 1-σ ellipse on this plane."""
    labels = None if data.test_labels is None else data.test_labels.numpy()
    stats = posterior_stats(model, data.test) if with_images else None
    sigma = shape = None
    if stats is not None:
        sigma = stats[1]
        shape = ellipses(sigma, torch.tensor([spec.v1, spec.v2])).as_array()
        sigma = sigma.numpy()
    return pack(plane_id, title, decoder_program(model), spec, xy.numpy(), codes.numpy(), labels,
                data.label_names, to_uint8(data.test) if with_images else None, sigma, shape)


def nearest_code(codes: torch.Tensor, z: torch.Tensor) -> tuple[int, float]:
    """The held-out code nearest to z, over every latent dimension, and its distance."""
    distances = (codes.float() - z.float().reshape(1, -1)).norm(dim=1)
    index = int(distances.argmin())
    return index, float(distances[index])


def code_at(xy: torch.Tensor, point: Sequence[float], tolerance: Sequence[float]) -> int | None:
    """The held-out code the pinned point sits on: the nearest whose plane coordinates are within `tolerance` of
    the point on each axis (half a slider step: a click on a dot, snapped to the sliders, lands there), else None."""
    if not len(xy):
        return None
    offset = (xy.double()[:, :2] - torch.tensor(list(point), dtype=torch.float64)).abs()
    close = (offset <= torch.tensor(list(tolerance), dtype=torch.float64)).all(1)
    if not bool(close.any()):
        return None
    distances = offset.norm(dim=1).masked_fill(~close, float("inf"))
    return int(distances.argmin())


def _floats(tensor: torch.Tensor) -> tuple[float, ...]:
    return tuple(float(v) for v in tensor.reshape(-1))
