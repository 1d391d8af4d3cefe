"""The lead sentences of question (a) and of the unit grids, each built from measured numbers (so the wording is
tested against the numbers): tied against untied on the same held-out images, and why some weight tiles look like
noise (neighbouring-pixel correlation, models.analysis.unit_features.neighbour_correlation)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.analysis.tied_untied import PairLoss


def pair_lead(pair: PairLoss, loss: str = "BCE") -> str:
    """One sentence: both held-out losses, and what the untied decoder's extra parameters buy (or do not)."""
    share = pair.saving / pair.tied_loss if pair.tied_loss > 0 else math.nan
    counts = (f"{pair.extra_parameters:+,} parameters: {pair.untied_parameters:,} against "
              f"{pair.tied_parameters:,}")
    head = (f"Held-out {loss} per image on the same {pair.images:,} digits: untied **{pair.untied_loss:.1f}**, "
            f"tied **{pair.tied_loss:.1f}**.")
    if pair.saving > 0:
        return (f"{head} The untied decoder's own W′ ({counts}) cuts the loss by **{pair.saving:.1f} per image "
                f"({100 * share:.0f}%)**.")
    return (f"{head} The untied decoder's own W′ ({counts}) does not lower it here: tied is better by "
            f"**{-pair.saving:.1f} per image**.")


@dataclass(frozen=True)
class Smoothness:
    """One model's weight tiles, measured: neighbouring-pixel correlation of its encoder rows and decoder columns."""
    side: str  # where the page shows it: "left" or "right"
    tied: bool
    encoder: float
    decoder: float


def smoothness_lead(models: list[Smoothness], images: float, count: int) -> str:
    """Why the grids look as they do: an untied encoder row only reads, and on images whose neighbouring pixels
    correlate `images` (over `count` held-out images), pixel-to-pixel wiggles in a row barely change wᵢ·x; a tied
    W also draws the output. Says only what the numbers show: "noise" only for encoder rows less than half as
    smooth as the same model's decoder columns."""
    rough = [m for m in models if not m.tied and m.encoder < m.decoder / 2]
    noisiest = min(rough, key=lambda m: m.encoder) if rough else None
    out = []
    if noisiest is not None:
        out.append(
            f"{noisiest.side.capitalize()} model: encoder rows look like noise (neighbouring pixels correlate "
            f"**{noisiest.encoder:+.2f}**; its decoder columns **{noisiest.decoder:+.2f}**) because a row only reads, "
            f"and on smooth images (**{images:+.2f}**, {count:,} held-out) pixel-level wiggles barely change wᵢ·x.")
    for m in models:
        if m is noisiest:
            continue
        if m.tied:
            also = " also" if noisiest is not None else ""
            out.append(f"{m.side.capitalize()}: a tied W{also} draws the output (**{m.encoder:+.2f}**).")
        else:
            out.append(f"{m.side.capitalize()} model: **{m.decoder:+.2f}** in its decoder columns, "
                       f"**{m.encoder:+.2f}** in its encoder rows.")
    return " ".join(out)
