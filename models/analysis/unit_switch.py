"""Switch hidden units off (or drive them to their maximum) and see what the reconstruction loses.

For a code h = encode(x), a switched code h̃ sets some units to 0 and others to their maximum over the images given
(the held-out set on the Features page), and decodes x̂ = decode(h̃): for a single layer, g(W′h̃ + b′). Setting hᵢ = 0
takes column w′ᵢ out of the decoder's sum; setting it to its maximum draws that column as strongly as any held-out
image ever makes it. The loss is the model's own reconstruction loss per image (Autoencoder.per_sample_error), so
switching nothing gives exactly the model's own reconstruction and its held-out loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from models.autoencoders import Autoencoder
from models.errors import ConfigError


@dataclass(frozen=True)
class UnitSwitch:
    """One model's reconstructions of the same images before and after switching units."""

    off: tuple[int, ...]  # units set to 0
    driven: tuple[int, ...]  # units set to their maximum over the images
    maxima: torch.Tensor  # (units,) each unit's largest value over the images
    before: torch.Tensor  # (N, C, H, W) the model's own reconstructions
    after: torch.Tensor  # (N, C, H, W) decoded from the switched codes
    loss_before: torch.Tensor  # (N,) the model's own reconstruction loss per image
    loss_after: torch.Tensor  # (N,)

    @property
    def mean_before(self) -> float:
        return float(self.loss_before.mean())

    @property
    def mean_after(self) -> float:
        return float(self.loss_after.mean())

    @property
    def change(self) -> float:
        """Mean loss per image after minus before (positive: the reconstruction got worse)."""
        return float((self.loss_after - self.loss_before).mean())

    @property
    def images(self) -> int:
        return len(self.loss_before)


def checked_units(units: Iterable[int], latent: int, what: str) -> tuple[int, ...]:
    """The unit numbers sorted without repeats; a clear error for one outside 0…latent − 1."""
    picked = tuple(sorted({int(u) for u in units}))
    outside = [u for u in picked if not 0 <= u < latent]
    if outside:
        raise ConfigError(f"{what}: unit {outside[0]} does not exist; this model has units 0…{latent - 1}")
    return picked


def switched_codes(h: torch.Tensor, off: Iterable[int] = (), driven: Iterable[int] = (),
                   maxima: torch.Tensor | None = None) -> torch.Tensor:
    """A copy of the codes h (N, units) with the `off` units at 0 and the `driven` ones at `maxima` (default: their
    maximum over h). A unit in both lists is an error: it cannot be off and at its maximum at once."""
    latent = h.shape[1]
    off, driven = checked_units(off, latent, "switch off"), checked_units(driven, latent, "drive to maximum")
    both = sorted(set(off) & set(driven))
    if both:
        raise ConfigError(f"unit {both[0]} is both switched off and driven to its maximum: pick one")
    maxima = h.max(0).values if maxima is None else maxima
    out = h.clone()
    out[:, list(off)] = 0.0
    out[:, list(driven)] = maxima[list(driven)].to(h.dtype)
    return out


@torch.no_grad()
def switch_units(model: Autoencoder, x: torch.Tensor, off: Iterable[int] = (),
                 driven: Iterable[int] = ()) -> UnitSwitch:
    """Reconstruct x with the `off` units at 0 and the `driven` units at their maximum over x."""
    x = x.float()
    h = model.embed(x)
    latent = h.shape[1]
    off, driven = checked_units(off, latent, "switch off"), checked_units(driven, latent, "drive to maximum")
    maxima = h.max(0).values
    before = model.decode_codes(h)
    after = model.decode_codes(switched_codes(h, off, driven, maxima))
    return UnitSwitch(off=off, driven=driven, maxima=maxima, before=before, after=after,
                      loss_before=model.per_sample_error(x, before), loss_after=model.per_sample_error(x, after))


@torch.no_grad()
def single_unit_costs(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """(units,) how much each unit alone, switched off, raises the mean reconstruction loss per image on x."""
    x = x.float()
    h = model.embed(x)
    base = model.per_sample_error(x, model.decode_codes(h)).mean()
    costs = torch.empty(h.shape[1])
    for unit in range(h.shape[1]):
        after = model.decode_codes(switched_codes(h, off=(unit,)))
        costs[unit] = model.per_sample_error(x, after).mean() - base
    return costs


def parse_units(text: str | None, latent: int) -> list[int]:
    """Unit numbers from a URL value such as "3,17": the valid ones, in order, without repeats (a link with a
    mistyped or out-of-range number still opens, without it)."""
    picked: list[int] = []
    for part in (text or "").split(","):
        part = part.strip()
        if part.isdigit() and int(part) < latent and int(part) not in picked:
            picked.append(int(part))
    return picked


def switch_sentence(result: UnitSwitch, loss: str) -> str:
    """The decisive number first: the mean loss before → after, with the difference, and what was switched."""
    if not result.off and not result.driven:
        return (f"Nothing switched yet: the reconstruction {loss} per image on all {result.images:,} held-out images "
                f"is **{result.mean_before:.2f}**, the model's own. Pick units above.")
    parts = []
    if result.off:
        parts.append(f"{_units(result.off)} set to 0")
    if result.driven:
        peaks = ", ".join(f"{result.maxima[u]:.2f}" for u in result.driven)
        parts.append(f"{_units(result.driven)} set to {'its' if len(result.driven) == 1 else 'their'} held-out "
                     f"maximum ({peaks})")
    return (f"Reconstruction {loss} per image on all {result.images:,} held-out images: **{result.mean_before:.2f} → "
            f"{result.mean_after:.2f} ({result.change:+.2f})**, with {' and '.join(parts)}.")


def costs_sentence(costs: torch.Tensor, loss: str) -> str:
    """Which unit matters most on its own, against the typical unit."""
    top = int(costs.argmax())
    return (f"Switched off alone, unit {top} costs the most: **{float(costs[top]):+.2f}** {loss} per image; the "
            f"median unit {float(costs.median()):+.2f}, the least {float(costs.min()):+.2f}.")


def _units(units: tuple[int, ...]) -> str:
    return f"unit {units[0]}" if len(units) == 1 else "units " + ", ".join(map(str, units))
