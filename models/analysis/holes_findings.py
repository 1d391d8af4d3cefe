"""What the Holes comparison on the Latent page shows, in sentences built from its numbers.

The two regions measure different things: each model's own spread (mean ± 3 std, holes within half a std)
compares two code spaces in their own units; the fixed square [-3, 3]² compares them in raw latent units, where
a plain AE whose codes spread far wider than the VAE's is seen only through its dense core. Which reading holds
follows from the numbers: the share of each model's codes the region holds, and the hole radius in each model's
own standard deviations.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.analysis.latent import HOLE_RADIUS, REGION_HALF_WIDTH, REGIONS, Holes

LIKE_FOR_LIKE = 0.10  # a region compares like with like when it holds shares of both models' codes this close
SHORT = {"spread": "each model's own spread", "square": f"the square [-{REGION_HALF_WIDTH:g}, {REGION_HALF_WIDTH:g}]²"}


@dataclass(frozen=True)
class Side:
    label: str  # "the plain AE", "the VAE"
    stats: dict[str, Holes]  # region -> its holes
    std: float  # the spread of its held-out codes: mean std over the first two dimensions


def _pct(x: float) -> str:
    return f"{x:.0%}"


def like_for_like(a: Side, b: Side, region: str) -> bool:
    """Whether a region holds about the same share of both models' codes, with holes measured alike."""
    return abs(a.stats[region].codes_inside - b.stats[region].codes_inside) <= LIKE_FOR_LIKE


def holes_explanation(a: Side, b: Side) -> list[str]:
    """Sentences that compare the two regions for two models, each claim checked against the numbers."""
    lines = []
    for region in REGIONS:
        sa, sb = a.stats[region], b.stats[region]
        line = (f"In {SHORT[region]}, {a.label} has {_pct(sa.hole_fraction)} of its grid on red and {b.label} "
                f"{_pct(sb.hole_fraction)}; the region holds {_pct(sa.codes_inside)} of {a.label}'s held-out "
                f"codes and {_pct(sb.codes_inside)} of {b.label}'s")
        if like_for_like(a, b, region):
            line += ", so it compares like with like"
            if region == "spread":
                line += " (each in its own units: holes within half a std of its own codes)"
        else:
            fewer = a if sa.codes_inside < sb.codes_inside else b
            more = b if fewer is a else a
            line += (f", so it does not compare like with like: it sees only part of {fewer.label}'s codes, "
                     f"against nearly all of {more.label}'s" if more.stats[region].codes_inside >= 0.9 else
                     ", so it does not compare like with like: it holds a different share of each model's codes")
            if region == "square":
                line += (f". {_upper_first(a.label)}'s codes spread with std {a.std:.1f}, {b.label}'s with "
                         f"{b.std:.1f}, so the hole radius of {HOLE_RADIUS:g} is {HOLE_RADIUS / a.std:.2f} std of "
                         f"{a.label}'s codes but {HOLE_RADIUS / b.std:.2f} of {b.label}'s")
        lines.append(line + ".")
    order = {r: a.stats[r].hole_fraction < b.stats[r].hole_fraction for r in REGIONS}
    ties = any(a.stats[r].hole_fraction == b.stats[r].hole_fraction for r in REGIONS)
    if not ties and len(set(order.values())) > 1:
        fair = [r for r in REGIONS if like_for_like(a, b, r)]
        if len(fair) == 1:
            r = fair[0]
            better = a if order[r] else b
            lines.append(f"The two regions rank the models in opposite orders; only {SHORT[r]} compares like "
                         f"with like, and there {better.label} leaves less of its code space empty.")
        else:
            lines.append("The two regions rank the models in opposite orders.")
    return lines


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
