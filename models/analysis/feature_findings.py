"""The sentences of the Hidden-unit features page, each built from measured numbers (so the wording is tested
against the numbers): a conclusion says only what the figures passed in show."""

from __future__ import annotations

import math

from models.analysis.decodings import DECODINGS, Decodings, Reactivation, mean_pairwise_correlation
from models.analysis.tied_untied import Curve, GapTable

EDGE = {"sigmoid": "0 or 1", "tanh": "−1 or 1", "identity": "±∞"}


def _pct(fraction: float | None) -> str:
    return "—" if fraction is None else f"{100 * fraction:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def decoding_table(decodings: Decodings) -> list[dict]:
    """One row per decoding: the figures the page shows in its table."""
    rows = []
    for name, score in decodings.scores.items():
        rows.append({
            "decoding": DECODINGS[name],
            "BCE": _num(score.bce), "½‖x−x̂‖²": _num(score.half_squared, 2), "PSNR (dB)": _num(score.psnr),
            "saturated codes": f"{score.saturated_codes} / {score.images}",
            "inf/NaN images": f"{score.nonfinite_images} / {score.images}",
            "pixels outside [0, 1]": _pct(score.outside_unit),
            "values (before clipping)": "—" if score.low is None else f"{score.low:.3g} … {score.high:.3g}",
        })
    return rows


def shown_outside_shares(decodings: Decodings, shown: int) -> str:
    """The share of each shown image outside W's row space, in the order the pictures show them."""
    shares = ", ".join(f"{100 * float(v):.0f}%" for v in decodings.outside_share[:shown])
    return f"share of each image outside W's row space: {shares}"


def decoding_findings(decodings: Decodings, activation: str) -> list[str]:
    """What the table says about question (b) for one model, one sentence per point."""
    s = decodings.scores
    learned, transpose, pinv, output = s["learned"], s["transpose"], s["pinv"], s["output_inverse"]
    n = learned.images
    sv = decodings.singular_values
    out = [
        f"**Transpose:** Wᵀ(f⁻¹(h) − b) scores **{_num(transpose.psnr)} dB** against **{_num(learned.psnr)} dB** for "
        f"the learned decoder. Wᵀ undoes W only if all of W's singular values are 1; here they run from "
        f"{float(sv.min()):.2f} to {float(sv.max()):.2f}, so {_pct(transpose.outside_unit)} of its pixels land "
        f"outside [0, 1].",
    ]
    comparison = "better" if (pinv.psnr or -math.inf) > (learned.psnr or -math.inf) else "worse"
    bce = "lower" if (pinv.bce or math.inf) < (learned.bce or math.inf) else "higher"
    out.append(
        f"**Pseudo-inverse:** W⁺(f⁻¹(h) − b), clipped to [0, 1], scores **{_num(pinv.psnr)} dB**, {comparison} "
        f"than the learned decoder in PSNR, with a {bce} BCE ({_num(pinv.bce)} against {_num(learned.bce)}), "
        f"on the {pinv.finite_images} of {n} images that come out finite. Before clipping its values run from "
        f"{_num(pinv.low, 2)} to {_num(pinv.high, 2)}: {_pct(pinv.outside_unit)} of pixels are not valid "
        f"intensities.")
    share = decodings.outside_share
    out.append(
        f"**What no inverse can recover:** on average **{_pct(float(share.mean()))}** of a held-out image's energy "
        f"(up to {_pct(float(share.max()))}) lies outside the {decodings.rank}-dimensional row space of W, and "
        f"W⁺(·) only ever returns vectors inside it.")
    worst = decodings.worst_rounding
    if worst is not None:
        out.append(
            f"**f⁻¹ near its edges:** even where f⁻¹(h) is finite, a code within a hair of "
            f"{EDGE.get(activation, 'the edge')} "
            f"has lost digits to float32 rounding and f⁻¹ magnifies the loss: W⁺(f⁻¹(h) − b) strays from the exact "
            f"W⁺Wx by more than 0.01 in {decodings.rounding_worse_than(0.01)} of {pinv.finite_images} images "
            f"(at worst {worst:.3g}).")
    edge = EDGE.get(activation, "its range's edge")
    out.append(
        f"**Float32 saturation:** {learned.saturated_codes} of {n} codes have a unit that rounds to exactly "
        f"{edge}, where f⁻¹ is infinite: Wᵀ(f⁻¹(h) − b) gives {transpose.nonfinite_images} inf/NaN images and "
        f"W⁺(f⁻¹(h) − b) gives {pinv.nonfinite_images}, while the learned decoder gives "
        f"{learned.nonfinite_images}." if learned.saturated_codes else
        f"**Float32 saturation:** no code of these {n} rounds to exactly {edge}, so f⁻¹(h) is finite for all of "
        f"them here; a code that did would make both inverse decodings inf/NaN.")
    out.append(
        f"**f⁻¹ at the output:** f⁻¹(W′h + b′) is inf/NaN at {_pct(output.nonfinite_pixels)} of pixels "
        f"(W′h + b′ is outside f's range there), so {output.nonfinite_images} of {n} images have no value in "
        f"some pixel. This is not the question's formula: it replaces the output activation, not the encoder's.")
    return out


def decoding_verdict(findings: list[Decodings]) -> str:
    """One line over both models: which decodings always gave a finite image inside [0, 1]."""
    clean = [name for name in DECODINGS
             if all(d.scores[name].nonfinite_images == 0 and (d.scores[name].outside_unit or 0) == 0
                    for d in findings)]
    if clean == ["learned"]:
        return ("**So:** of the four, only the learned decoder g(W′h + b′) returned a finite image inside [0, 1] "
                "for every held-out code of both models; each inverse-first decoding either left [0, 1] or "
                "came out inf/NaN for some of them.")
    names = ", ".join(DECODINGS[c] for c in clean) or "none of them"
    return f"**So:** the decodings that returned a finite image inside [0, 1] for every held-out code: {names}."


def reactivation_findings(r: Reactivation, activation: str) -> list[str]:
    units = len(r.onehot_learned)
    on, off = r.soft_code_values
    out = [
        f"**Through g:** g(W′eᵢ + b′) is a valid image for all {units} one-hot codes (values "
        f"{float(r.onehot_learned.min()):.3f} … {float(r.onehot_learned.max()):.3f}).",
        f"**Inverse first:** f⁻¹(eᵢ) is finite for {r.onehot_inverse_finite_codes} of {units} one-hot codes "
        f"(f⁻¹ of {EDGE.get(activation, 'the range edge')} is infinite), and Wᵀ(f⁻¹(eᵢ) − b) is inf/NaN for "
        f"{r.onehot_transpose_nonfinite} of {units}: the inverse-first path is undefined for one-hot codes.",
    ]
    corr = {name: mean_pairwise_correlation(getattr(r, name))
            for name in ("soft_learned", "soft_transpose", "soft_pinv")}
    out.append(
        f"**Softened to {on:g} / {off:g}:** the inverse-first pictures are finite, but Wᵀ(f⁻¹(sᵢ) − b) adds the "
        f"same large term for every unit (all the off units at f⁻¹({off:g})), so two units' pictures correlate "
        f"**{_num(corr['soft_transpose'], 3)}** on average (1 = identical), against "
        f"{_num(corr['soft_learned'], 3)} through g and {_num(corr['soft_pinv'], 3)} through W⁺.")
    return out


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
