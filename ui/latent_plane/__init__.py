"""The latent plane (Streamlit Components v2, inline: no iframe, no build step, no CDN, works offline).

- `plane(payload, key)`: the plane and the in-browser decoder. Its data is the payload of one model and does
  not change while that model is shown, so Streamlit's message cache sends it once, and pointer moves never
  reach the server.
- `bridge(...)`: Python's view for a plane (the pinned z, the base code, overlays, dots or glyphs) and the way back
  for a click or an arrow key. Put it in the fragment that draws what a pin changes: a pin then reruns only that
  fragment.
- `marks_toggle()` and `glyphs()`: whether planes draw each code as its class label instead of a dot (?marks=glyphs).
- `spread()`: whether a VAE's plane draws each code's posterior as its 1-σ ellipse (?posterior=ellipses); the
  switch is in the plane's legend.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from ui.query import drop_query, set_query, state_from_query

HERE = Path(__file__).parent
PLANE_NAME, BRIDGE_NAME = "aex_latent_plane", "aex_latent_bridge"
# Components v2 takes one inline JS module, so the plane's files, one per concern, are joined in this order into
# one module with one scope: the payload and decoder, the canvas, the decoded picture, pointer and keys, the
# slider mirror, then the Plane class (which gathers the methods of the four before it, so it comes after them)
# and the entry point, the module's `export default`.
PLANE_JS = ("decoder.js", "draw.js", "decoded.js", "pointer.js", "sliders.js", "posterior.js", "plane.js", "main.js")
GLYPHS_KEY, MARKS_QUERY = "plane_glyphs", "marks"  # session state; the URL's ?marks=glyphs
SPREAD_KEY, SPREAD_QUERY, SPREAD_VALUE = "plane_spread", "posterior", "ellipses"  # the URL's ?posterior=ellipses


@functools.cache
def _plane_component():
    wasm = base64.b64encode((HERE / "kernels.wasm").read_bytes()).decode()
    js = "\n".join((HERE / name).read_text() for name in PLANE_JS).replace("__AEX_WASM_BASE64__", wasm)
    return st.components.v2.component(PLANE_NAME, js=js, css=(HERE / "plane.css").read_text())


@functools.cache
def _bridge_component():
    return st.components.v2.component(BRIDGE_NAME, js=(HERE / "bridge.js").read_text())


def plane(payload: bytes, key: str) -> None:
    _plane_component()(data=payload, key=key, width="stretch")


def bridge(plane_id: str, key: str, pin: Sequence[float] | None, base: Sequence[float] | None = None,
           overlays: Sequence[dict] = (), on_pin: Callable[[float, float], None] | None = None,
           extent: Sequence[float] | None = None, live: dict | None = None, glyphs: bool = False,
           posterior: bool = False, code: int | None = None, spread: bool | None = None,
           hint: str | None = None, pin_label: str | None = None) -> None:
    """on_pin(x, y) runs as a callback (before the fragment redraws) when the user pins z on the plane.
    overlays: {"rect": [x0, x1, y0, y1]} or {"point": [x, y], "label": …}; extent: a wider view than the
    payload's, without sending the payload again. live: the page's sliders that set the pin, mirrored in the
    browser as they move: {"x": {"key", "scale"}, "y": {"key", "scale"}, "base": [...] or None,
    "terms": [{"key", "vector"}]}, so z = base + Σ value·vector with x·scale and y·scale on the plane. glyphs: draw
    each code as its class label instead of a dot. posterior: show what a pin on a held-out image's code means (a
    VAE's plane draws z = μ + σ·ε for it, in the browser; a plain AE's says its code is a point), for `code`, the
    held-out image the pin sits on (None: none). spread: whether to draw each code's 1-σ posterior ellipse (a VAE's
    payload carries them), with a switch for it in the plane's legend that sets spread() (None: no switch, no
    ellipses). hint: what a click does on this plane, in place of the usual line under the decode. pin_label: what
    the decode's readout calls this pin (e.g. "your image's code"; else "pinned"), until the user moves it."""

    seq_key = f"{key}__seq"

    def pinned() -> None:
        value = (st.session_state.get(key) or {}).get("pin")
        if on_pin is not None and isinstance(value, dict):
            x, y = _number(value.get("x")), _number(value.get("y"))
            if x is not None and y is not None:
                on_pin(x, y)
                seq = _number(value.get("seq"))
                st.session_state[seq_key] = seq if seq is not None else 0.0

    def spread_switched() -> None:
        value = (st.session_state.get(key) or {}).get("spread")
        if isinstance(value, bool):
            st.session_state[SPREAD_KEY] = value

    view = {"plane": plane_id, "seq": st.session_state.get(seq_key, 0.0),
            "pin": None if pin is None else [float(v) for v in pin],
            "base": None if base is None else [float(v) for v in base], "overlays": list(overlays),
            "extent": None if extent is None else [float(v) for v in extent], "live": live,
            "marks": "glyphs" if glyphs else "dots", "posterior": bool(posterior),
            "code": None if code is None else int(code),
            "spread": None if spread is None else bool(spread), "hint": hint,
            "pin_label": pin_label}
    # One JSON string, not nested lists: Streamlit checks each list or dict in `data` for a dataframe, which
    # imports pandas and pyarrow on a cold server's first latent page (~0.45 s).
    _bridge_component()(data={"view": json.dumps(view)}, key=key, on_pin_change=pinned,
                        on_spread_change=spread_switched, width="stretch", height=0)


def glyphs() -> bool:
    """Whether planes draw each code as its class label (seeded once from the URL's ?marks=glyphs)."""
    state_from_query(GLYPHS_KEY, st.query_params.get(MARKS_QUERY) == "glyphs")
    return bool(st.session_state[GLYPHS_KEY])


def marks_toggle(where=st) -> bool:
    """The switch between dots and class labels, kept in the URL as ?marks=glyphs (absent: dots)."""
    glyphs()
    on = where.toggle("Labels, not dots", key=GLYPHS_KEY,
                      help="Draws each held-out code as its class label (its digit) in its class's colour, so the "
                           "class does not rest on colour alone. In the address bar as marks=glyphs.")
    if on:
        set_query(**{MARKS_QUERY: "glyphs"})
    else:
        drop_query(MARKS_QUERY)
    return on


def spread() -> bool:
    """Whether a VAE's plane draws each code's 1-σ posterior ellipse: seeded once from ?posterior=ellipses, then
    set by the switch in the plane's legend (through its bridge), and kept in the URL while it is on."""
    state_from_query(SPREAD_KEY, st.query_params.get(SPREAD_QUERY) == SPREAD_VALUE)
    on = bool(st.session_state[SPREAD_KEY])
    if on:
        set_query(**{SPREAD_QUERY: SPREAD_VALUE})
    else:
        drop_query(SPREAD_QUERY)
    return on


def _number(value) -> float | None:
    """A coordinate from the browser: a finite number, or None (the browser is not trusted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if abs(value) < 1e15 else None  # also refuses NaN and ±inf
