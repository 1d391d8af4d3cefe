"""Wording that follows a model's activation (sigmoid, tanh, identity), so a caption written for the sigmoid layer
never reaches a tanh one: f⁻¹'s name and the edges of f's range, what g's output range means for an image, how
the one-hot code is softened, and which models a shipped measurement was made on."""

from __future__ import annotations

from models.autoencoders import INVERSE_RANGES

INVERSE_NAME = {"sigmoid": "logit", "tanh": "arctanh", "identity": "the identity"}
OUTPUT_RANGE = {
    "sigmoid": "a sigmoid's output lies in (0, 1): always a valid image",
    "tanh": "a tanh's output lies in (−1, 1): its negative values are not valid pixel intensities",
    "identity": "an identity output can be any real number: values outside [0, 1] are not valid intensities",
}


def _edge(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def inverse_key(activation: str, below: str = "below", above: str = "above") -> str:
    """What the f⁻¹ tiles' colours mean for this activation: f⁻¹'s name and the two edges of f's range.
    `below`/`above` are the labels of the two colours (the page passes coloured squares)."""
    name = INVERSE_NAME.get(activation, f"the inverse of {activation}")
    low, high = INVERSE_RANGES.get(activation, (float("-inf"), float("inf")))
    if low == float("-inf") and high == float("inf"):
        return f"{activation}: f⁻¹ is {name}, defined everywhere, so no pixel is coloured"
    return (f"{activation}: f⁻¹ is {name}; {below}: w′ᵢ + b′ ≤ {_edge(low)}, {name} → −∞; "
            f"{above}: w′ᵢ + b′ ≥ {_edge(high)}, {name} → +∞")


def output_range(activation: str) -> str:
    return OUTPUT_RANGE.get(activation, f"a {activation} output: check its range against [0, 1]")


def softening_label(activations: list[str]) -> str:
    """The ε slider's label: what becomes of the one-hot code's 1s and 0s under each activation shown (as
    models.analysis.decodings.clip_to_range moves them)."""
    parts = []
    for activation in dict.fromkeys(activations):
        low, high = INVERSE_RANGES.get(activation, (float("-inf"), float("inf")))
        one = "1 becomes 1 − ε" if high == 1.0 else "1 stays 1"
        zero = "0 becomes ε" if low == 0.0 else "0 stays 0"
        parts.append(f"{activation}: {one}, {zero}")
    return "ε, how far inside f's range the one-hot code moves (" + "; ".join(parts) + ")"


def measured_on(what: str, measured: str, picked: list[str]) -> str:
    """Says plainly that a shipped measurement was made on `measured` layers when a picked model is not one ("" when
    every picked model is)."""
    others = [a for a in picked if a != measured]
    if not others:
        return ""
    kinds = " and ".join(dict.fromkeys(others))
    return (f"{what} measured on the single {measured} layer, not on the {kinds} "
            f"model{'' if len(others) == 1 else 's'} picked above.")
