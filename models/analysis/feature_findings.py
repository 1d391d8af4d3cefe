"""The sentences of the Hidden-unit features page, each built from measured numbers (so the wording is tested
against the numbers): a conclusion says only what the figures passed in show."""

from __future__ import annotations

import math

from models.analysis.decodings import DECODINGS, Decodings, Score
from models.analysis.reactivation import Reactivation
from models.analysis.tied_untied import Curve, GapTable

EDGE = {"sigmoid": "0 or 1", "tanh": "−1 or 1", "identity": "±∞"}


def _pct(fraction: float | None) -> str:
    return "—" if fraction is None else f"{100 * fraction:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def decoding_table(decodings: Decodings) -> list[dict]:
    """One row per decoding: the figures the page shows in its table, each over the images it names."""
    rows = []
    for name, score in decodings.scores.items():
        rows.append({
            "decoding": DECODINGS[name],
            "images scored": f"{score.finite_images} / {score.images}",
            "BCE": _num(score.bce), "½‖x−x̂‖²": _num(score.half_squared, 2), "PSNR (dB)": _num(score.psnr),
            f"clipped at ε = {decodings.eps:g}": f"{score.clipped_images} / {score.images} images "
                                                 f"({score.clipped_values:,} values)",
            "pixels outside [0, 1]": _pct(score.outside_unit),
            "values (before clipping)": "—" if score.low is None else f"{score.low:.3g} … {score.high:.3g}",
        })
    return rows


def shown_outside_shares(decodings: Decodings, shown: int) -> str:
    """The share of each shown image outside W's row space, in the order the pictures show them."""
    shares = ", ".join(f"{100 * float(v):.0f}%" for v in decodings.outside_share[:shown])
    return f"share of each shown image outside W's row space: {shares}"


def _over(score: Score, n: int, first: bool) -> str:
    """The images a figure is over, named in its sentence: all n, or the subset and its size."""
    if score.finite_images == n:
        return f"on all {n} held-out images" if first else f"on the same {n}"
    return f"on only the {score.finite_images} of {n} held-out images that came out finite"


def decoding_headline(decodings: Decodings) -> str:
    """The one sentence that leads section (b): each decoding's PSNR, every figure over the images it names."""
    s, n = decodings.scores, len(decodings.x)
    inverse = [(DECODINGS[k], s[k]) for k in ("transpose", "pinv")]
    all_same = all(score.finite_images == n for _, score in inverse)
    paths = ", ".join(f"{name}: **{_num(score.psnr)} dB**" + ("" if all_same else f" {_over(score, n, False)}")
                      for name, score in inverse)
    return (f"Decoding with g: **{_num(s['learned'].psnr)} dB** {_over(s['learned'], n, True)}; "
            f"{f'on the same {n}, ' if all_same else ''}{paths} ({decodings.code_clipped_images} codes clipped at "
            f"ε = {decodings.eps:g}).")


LOSS_NAMES = {"bce": "BCE", "mse": "½‖x−x̂‖²"}


def decoding_findings(decodings: Decodings, activation: str, loss: str = "bce") -> list[str]:
    """What the table says about question (b) for one model, one sentence per point; the pseudo-inverse is weighed
    by the model's own training loss (BCE or ½‖x−x̂‖²)."""
    s = decodings.scores
    learned, transpose, pinv, output = s["learned"], s["transpose"], s["pinv"], s["output_inverse"]
    n, sv, edge = learned.images, decodings.singular_values, EDGE.get(activation, "its range's edge")
    out = [
        f"**Transpose:** Wᵀ(f⁻¹(h) − b) scores **{_num(transpose.psnr)} dB** {_over(transpose, n, True)} against "
        f"**{_num(learned.psnr)} dB** for the learned decoder {_over(learned, n, False)}. Wᵀ undoes W only if all "
        f"of W's singular values are 1; here they run from {float(sv.min()):.2f} to {float(sv.max()):.2f}, so "
        f"{_pct(transpose.outside_unit)} of its pixels land outside [0, 1].",
    ]
    comparison = "better" if (pinv.psnr or -math.inf) > (learned.psnr or -math.inf) else "worse"
    field = "bce" if loss == "bce" else "half_squared"
    mine, theirs = getattr(pinv, field), getattr(learned, field)
    lower = "lower" if (math.inf if mine is None else mine) < (math.inf if theirs is None else theirs) else "higher"
    out.append(
        f"**Pseudo-inverse:** W⁺(f⁻¹(h) − b), clipped to [0, 1], scores **{_num(pinv.psnr)} dB** "
        f"{_over(pinv, n, True)}, {comparison} than the learned decoder in PSNR, with a {lower} "
        f"{LOSS_NAMES.get(loss, loss)}, this model's training loss ({_num(mine, 2)} against {_num(theirs, 2)}). "
        f"Before clipping its values run from "
        f"{_num(pinv.low, 2)} to {_num(pinv.high, 2)}: {_pct(pinv.outside_unit)} of pixels are not valid "
        f"intensities.")
    share = decodings.outside_share
    out.append(
        f"**What no inverse can recover:** on average **{_pct(float(share.mean()))}** of a held-out image's energy "
        f"(up to {_pct(float(share.max()))}, over all {n}) lies outside the {decodings.rank}-dimensional row space "
        f"of W, and W⁺(·) only ever returns vectors inside it.")
    out.append(_edge_finding(decodings, edge))
    out.append(
        f"**f⁻¹ at the output:** W′h + b′ lies outside f's range (or within ε of its edge) at "
        f"{_pct(output.clipped_values / decodings.x.numel())} of pixels ({output.clipped_images} of {n} images), where f⁻¹ has no value; clipped ε inside the range, "
        f"f⁻¹(W′h + b′) scores {_num(output.psnr)} dB {_over(output, n, False)}. This is not the question's formula: "
        f"it replaces the output activation, not the encoder's.")
    return out


def _edge_finding(decodings: Decodings, edge: str) -> str:
    """Why the inverse paths run in float64 and clip at ε, with the counts."""
    n, eps = len(decodings.x), decodings.eps
    clipped = decodings.scores["transpose"]
    text = (f"**f⁻¹ at the edge of f's range:** as the model runs (float32), {decodings.float32_saturated} of {n} "
            f"codes have a unit at exactly {edge}, where f⁻¹ is infinite. So the inverse paths encode again in "
            f"float64 and move any unit within ε = {eps:g} of {edge} ε inside: {decodings.code_clipped_images} of "
            f"{n} codes had one ({clipped.clipped_values:,} unit values).")
    worst = decodings.worst_unclipped_error
    if worst is not None:
        text += (f" On the {n - decodings.code_clipped_images} codes left as they were, W⁺(f⁻¹(h) − b) equals the "
                 f"projection W⁺Wx to within {worst:.1g}: in float64 the inverse itself is exact.")
    return text


def decoding_verdict(findings: list[Decodings]) -> str:
    """One line over both models: which decodings always gave an image inside [0, 1]."""
    clean = [name for name in DECODINGS
             if all(d.scores[name].nonfinite_images == 0 and (d.scores[name].outside_unit or 0) == 0
                    for d in findings)]
    if clean == ["learned"]:
        return ("**So:** of the four, only the learned decoder g(W′h + b′) returned a finite image inside [0, 1] "
                "for every held-out code of both models; each inverse-first decoding left [0, 1] for some of them.")
    names = ", ".join(DECODINGS[c] for c in clean) or "none of them"
    return f"**So:** the decodings that returned a finite image inside [0, 1] for every held-out code: {names}."


# --- (b′) one unit reactivated --------------------------------------------------------------------------------------
def reactivation_headline(r: Reactivation) -> str:
    """Which path shows the features, and why, from the pictures' correlations."""
    through_g, inverse = r.correlation("learned"), r.correlation("transpose")
    off, (f_on, f_off) = r.code_values[1], r.inverse_values
    if inverse is None or (through_g is not None and through_g < inverse):
        return (f"**g shows the features:** through g two units' pictures correlate **{_num(through_g, 2)}**, "
                f"through Wᵀ(f⁻¹(eᵢ) − b) **{_num(inverse, 2)}** (1 = identical): f⁻¹ turns each off unit's "
                f"{off:g} into {f_off:.1f}, so every inverse picture carries the same sum over the other units.")
    why = (f"f⁻¹({off:g}) = {f_off:.1f}, so the off units add nothing and picture i is {f_on:.2f}·wᵢ − Wᵀb, unit "
           f"i's own encoder row less a term all units share" if abs(f_off) < 1e-12 else
           f"the term all its pictures share correlates only {r.transpose_shared:.2f} with them")
    return (f"**Wᵀ(f⁻¹(eᵢ) − b) shows the features:** through it two units' pictures correlate "
            f"**{_num(inverse, 2)}**, through g **{_num(through_g, 2)}** (1 = identical): {why}.")


def through_g(r: Reactivation) -> str:
    """Whether g(W′eᵢ + b′) is a valid image (every pixel in [0, 1]), counted over all the one-hot codes."""
    units, low, high = len(r.learned), float(r.learned.min()), float(r.learned.max())
    outside = int(((r.learned < 0) | (r.learned > 1)).flatten(1).any(1).sum())
    span = f"values {low:.3f} … {high:.3f}"
    if outside == 0:
        return (f"**Through g:** g(W′eᵢ + b′) is a valid image, every pixel in [0, 1], for all {units} one-hot codes "
                f"({span}); it needs no clipping.")
    return (f"**Through g:** g(W′eᵢ + b′) leaves [0, 1] for **{outside} of {units}** one-hot codes ({span}): "
            f"as they stand those are not valid images (pixel intensities lie in [0, 1]).")


def reactivation_findings(r: Reactivation, activation: str) -> list[str]:
    units = len(r.learned)
    on, off = r.code_values
    f_on, f_off = r.inverse_values
    return [
        through_g(r),
        f"**Through the inverse:** f⁻¹ of {EDGE.get(activation, 'the range edge')} is infinite, so {r.clipped_values:,} "
        f"of the {units * units:,} entries of the one-hot codes were moved ε = {r.eps:g} inside f's range: on = "
        f"{on:g} (f⁻¹ = {f_on:.2f}), off = {off:g} (f⁻¹ = {f_off:.2f}).",
        f"**What the inverse pictures share:** each Wᵀ(f⁻¹(eᵢ) − b) correlates {r.transpose_shared:.2f} on average "
        f"with Wᵀ(f⁻¹({off:g})·1 − b), the picture of the all-off code (1 = nothing of unit i in it), over all "
        f"{units} units.",
        f"**Through W⁺:** two units' W⁺(f⁻¹(eᵢ) − b) pictures correlate {_num(r.correlation('pinv'), 2)} on "
        f"average.",
    ]


# --- (a) tied against untied ------------------------------------------------------------------------------------------
def curve_summary(title: str, record: dict, curve: Curve | None, parameters: int) -> str:
    if curve is None:
        epochs = record.get("epochs")
        return (f"**{title}** ({parameters:,} parameters): the learning curve is not recorded in this checkpoint; "
                f"it ran {epochs if epochs is not None else 'an unknown number of'} epochs with no record of "
                f"whether the held-out loss had stopped improving.")
    best = curve.best_epoch if curve.best_epoch is not None else curve.epochs[-1]
    i = curve.epochs.index(best)
    kept = "kept" if curve.best_epoch is not None else "last"
    return (f"**{title}** ({parameters:,} parameters): {kept} epoch {best} of {curve.epochs[-1]}, train "
            f"{curve.train[i]:.1f} / held-out {curve.heldout[i]:.1f}.")


def gap_rows(table: GapTable) -> list[dict]:
    rows = []
    for tied, untied in table.pairs():
        rows.append({
            "training digits": tied.train_size, "units": tied.width,
            "tied: train / held-out": f"{tied.train_loss:.1f} / {tied.heldout_loss:.1f}",
            "tied gap": f"{tied.gap:.1f}",
            "untied: train / held-out": f"{untied.train_loss:.1f} / {untied.heldout_loss:.1f}",
            "untied gap": f"{untied.gap:.1f}",
            "parameters tied / untied": f"{tied.parameters:,} / {untied.parameters:,}",
            "kept epoch tied / untied": f"{tied.best_epoch} / {untied.best_epoch}",
        })
    return rows


def _digits(sizes) -> str:
    return " and ".join(f"{size:,}" for size in sizes)


def gap_findings(table: GapTable) -> list[str]:
    """What the gap table shows, setting by setting; says so where it does not support "tied regularises"."""
    pairs = table.pairs()
    if not pairs:
        return ["The gap table holds no tied/untied pair."]
    smaller_gap = [(t, u) for t, u in pairs if t.gap < u.gap]
    better_heldout = [(t, u) for t, u in pairs if t.heldout_loss < u.heldout_loss]
    out = [f"Tied has the smaller generalisation gap (held-out − train) in **{len(smaller_gap)} of {len(pairs)}** "
           f"settings and the lower held-out loss in **{len(better_heldout)} of {len(pairs)}**."]
    by_size = {size: [(t, u) for t, u in pairs if t.train_size == size] for size in table.train_sizes}
    by_size = {size: here for size, here in by_size.items() if here}
    for size, here in by_size.items():
        parts = [f"{t.width} units: tied {t.gap:.1f}, untied {u.gap:.1f}" for t, u in here]
        out.append(f"With {size:,} training digits the gaps are " + "; ".join(parts) + ".")
    if len(by_size) > 1:
        large, small = max(by_size), min(by_size)
        mean_gap = {size: sum(t.gap + u.gap for t, u in by_size[size]) / (2 * len(by_size[size]))
                    for size in (large, small)}
        grows = "grows" if mean_gap[small] > mean_gap[large] else "does not grow"
        out.append(f"Cutting the training set from {large:,} to {small:,} digits {grows} the mean gap "
                   f"({mean_gap[large]:.1f} → {mean_gap[small]:.1f}).")
    spread = None
    for size, width, differences in table.seed_repeats():
        low, high = min(differences.values()), max(differences.values())
        spread = high - low if spread is None else max(spread, high - low)
        seeds = ", ".join(str(seed) for seed in differences)
        out.append(f"Seed to seed: retrained with seeds {seeds}, the {size:,}-digit, {width}-unit pair's untied − "
                   f"tied gap runs from {low:.1f} to {high:.1f}, a spread of {high - low:.1f}.")
    if spread is not None:
        clear = [(t, u) for t, u in pairs if abs(u.gap - t.gap) > spread]
        out.append(f"{len(clear)} of {len(pairs)} settings differ in gap by more than that spread.")
    out.append(_gap_verdict(pairs, by_size, smaller_gap, better_heldout, spread))
    return out


def _clear(here, spread) -> str:
    """How many of these pairs differ in gap by more than the seed-to-seed spread ("" when it is unknown)."""
    if spread is None:
        return ""
    clear = sum(abs(u.gap - t.gap) > spread for t, u in here)
    return f" (by more than the seed-to-seed spread at {clear} of {len(here)} widths)"


def _gap_verdict(pairs, by_size, smaller_gap, better_heldout, spread=None) -> str:
    if len(smaller_gap) == len(pairs) and len(better_heldout) == len(pairs):
        return ("**So:** here tying W′ = Wᵀ acts as a regulariser: fewer weights, a smaller gap and a better "
                "held-out loss in every setting.")
    if len(smaller_gap) == len(pairs):
        return ("**So:** tying always narrows the gap here, but a narrower gap is not a better model: the untied "
                f"decoder still reconstructs held-out digits better in {len(pairs) - len(better_heldout)} of "
                f"{len(pairs)} settings. Tied weights regularise by fitting the training digits less well.")
    if not smaller_gap:
        return ("**So:** these numbers do not support \"tied weights regularise\": the untied model has the "
                "smaller gap in every setting.")
    narrows = [size for size, here in by_size.items() if all(t.gap < u.gap for t, u in here)]
    widens = [size for size, here in by_size.items() if all(t.gap >= u.gap for t, u in here)]
    if narrows and widens and len(narrows) + len(widens) == len(by_size):
        narrowed = [pair for size in narrows for pair in by_size[size]]
        return (f"**So:** tying acts as a regulariser only with {_digits(sorted(narrows))} training digits, "
                f"where it narrows the gap at every width{_clear(narrowed, spread)}; with "
                f"{_digits(sorted(widens))} the untied model has the "
                f"smaller gap at every width. Tied has the lower held-out loss in {len(better_heldout)} of "
                f"{len(pairs)} settings.")
    return (f"**So:** the evidence for \"tied weights regularise\" is mixed: tied narrows the gap in "
            f"{len(smaller_gap)} of {len(pairs)} settings, not in the others.")
