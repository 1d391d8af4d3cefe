"""The Latent page's Interpolation tab: the path between two ends you pick, its decodes (linear and spherical) and
its GIF. Each end is a held-out image, a class's mean code, or a point on the plane: click the plane to set A, then
B (a click on a dot takes that image), or choose each end below it. The URL keeps both ends (ui/latent/ends.py:
?a=7, ?a=class:3, ?a=1.2,-0.4); old links with held-out indices open as before.

The tab is one fragment: a click on its plane reruns only the tab.
"""

from __future__ import annotations

import streamlit as st
import torch

from models.autoencoders import interpolate_codes
from ui.latent.ends import KINDS, End, end_code, end_name, end_text, file_part, on_plane, parse_end, rounded_point
from ui.latent.explore import PC_COUNT, PC_LIMIT, decode_one, draw_plane, label_of, plane_2d, principal, show
from ui.latent_plane import bridge, glyphs
from ui.latent_plane.payload import PlaneSpec
from ui.latent_plane.views import code_at, pca_plane
from ui.messages import escape_md, user_errors
from ui.pictures import enlarge, gif_bytes, tile, to_uint8, zoom_factor
from ui.projector import scaled
from ui.query import query_choice, query_int, set_query, state_from_query
from ui.session_models import ModelChoice

STEPS_DEFAULT, STEPS_RANGE = 10, (3, 16)
METHODS = {"linear": "linear", "slerp": "spherical (slerp)"}
STRIP_PX = 84
SLOTS = ("a", "b")
CLICK_KEY = "interp_click"  # which end the next click on the plane sets


def plane_of(choice: ModelChoice, codes: torch.Tensor) -> tuple[PlaneSpec, torch.Tensor] | None:
    """The Manifold tab's plane (a 2-D code's own, or its first two principal directions) and the codes on it;
    None for a 1-D code."""
    if choice.model.config.latent == 2:
        return plane_2d(choice.model, codes)[0], codes
    pca = principal(choice.cache_key, codes, PC_COUNT)
    if len(pca.std) < 2:
        return None
    return pca_plane(pca, PC_LIMIT), pca.project(codes)[:, :2]


@st.fragment
def interpolation_tab(choice: ModelChoice, codes: torch.Tensor) -> None:
    with user_errors("drawing the interpolation"):
        model = choice.model
        found = plane_of(choice, codes)
        spec, xy = found if found else (None, None)
        labels = choice.data.test_labels
        present = sorted({int(v) for v in labels.tolist()}) if labels is not None else []
        kinds = [k for k in KINDS if (k != "class" or present) and (k != "point" or spec is not None)]
        for slot, default in zip(SLOTS, (0, min(1, len(codes) - 1))):
            _seed_end(slot, len(codes), present, kinds, default)
        plane_id = _plane_and_hint(choice, codes, spec, xy)
        ends = _pickers(choice, present, kinds)
        steps, method = _steps_and_method()
        set_query(a=end_text(ends[0]), b=end_text(ends[1]), steps=steps, method=method)
        za, zb = (end_code(end, codes, labels, spec) for end in ends)
        rows = {m: model.interpolate(za, zb, steps, m) for m in METHODS}
        if plane_id is not None:
            overlays = [{"path": on_plane(interpolate_codes(za, zb, steps, m), spec), "dash": dash}
                        for m, dash in (("linear", []), ("slerp", [6, 4]))]
            overlays += [{"point": on_plane(z[None], spec)[0], "label": name} for z, name in ((za, "A"), (zb, "B"))]
            bridge(plane_id, key="bridge_interp", pin=None, overlays=overlays, glyphs=glyphs(),
                   on_pin=_on_click(xy, spec), hint=f"Point to decode · a click sets {_next_end()} (on a dot: that "
                                                    "held-out image)")
        _strip(choice, ends, (za, zb), rows, steps)
        _note(choice, codes, za, zb)
        frames = to_uint8(rows[method])
        st.download_button(f"Download the {METHODS[method]} interpolation as a GIF",
                           gif_bytes(enlarge(frames, zoom_factor(frames.shape[1], 112))),
                           file_name=f"{choice.name}_{file_part(ends[0])}_to_{file_part(ends[1])}_{method}.gif",
                           mime="image/gif", key="gif")


def _seed_end(slot: str, count: int, present: list[int], kinds: list[str], default: int) -> None:
    """Each end's widgets, seeded once from the URL; kept valid when the model (and its data) changes."""
    if f"{slot}_kind" not in st.session_state:
        end = parse_end(st.query_params.get(slot), count, present) or End("image", default)
        st.session_state[f"{slot}_kind"] = end.kind
        st.session_state[slot] = end.index if end.kind == "image" else default
        st.session_state[f"{slot}_class"] = end.index if end.kind == "class" else (present or [0])[0]
        st.session_state[f"{slot}_point"] = end.point
    if st.session_state[f"{slot}_kind"] not in kinds:
        st.session_state[f"{slot}_kind"] = "image"
    value = st.session_state[slot]
    st.session_state[slot] = min(max(int(value), 0), count - 1) if isinstance(value, (int, float)) else default
    if present and st.session_state[f"{slot}_class"] not in present:
        st.session_state[f"{slot}_class"] = present[0]


def _plane_and_hint(choice: ModelChoice, codes: torch.Tensor, spec: PlaneSpec | None,
                    xy: torch.Tensor | None) -> str | None:
    if spec is None:
        st.caption("A 1-D code has no plane to click: choose each end below.")
        return None
    hint, which = st.columns([3, 1], vertical_alignment="center")
    hint.markdown("**Click the plane to set A, then B** (a click on a dot takes that held-out image), or choose "
                  "each end below. Solid: the linear path; dashed: slerp.")
    st.session_state.setdefault(CLICK_KEY, "a")
    which.radio("Next click sets", SLOTS, key=CLICK_KEY, format_func=str.upper, horizontal=True)
    return draw_plane(choice, "interp", spec, xy, codes)


def _on_click(xy: torch.Tensor, spec: PlaneSpec):
    """A click sets the end the radio names, then the radio moves to the other end."""
    x0, x1, y0, y1 = spec.extent
    exact = (1e-6 * (x1 - x0), 1e-6 * (y1 - y0))  # the browser snaps a click near a dot onto that code exactly

    def on_pin(x: float, y: float) -> None:
        slot = _next_end().lower()
        index = code_at(xy, (x, y), exact)
        if index is not None:
            st.session_state[f"{slot}_kind"], st.session_state[slot] = "image", index
        else:
            st.session_state[f"{slot}_kind"], st.session_state[f"{slot}_point"] = "point", rounded_point(x, y)
        st.session_state[CLICK_KEY] = "b" if slot == "a" else "a"
    return on_pin


def _next_end() -> str:
    return str(st.session_state.get(CLICK_KEY, "a")).upper()


def _pickers(choice: ModelChoice, present: list[int], kinds: list[str]) -> tuple[End, End]:
    names, count = choice.label_names, len(choice.data.test)
    ends = []
    for slot, column in zip(SLOTS, st.columns(2, gap="large")):
        name = slot.upper()
        kind = column.radio(f"End {name}", kinds, key=f"{slot}_kind", format_func=KINDS.get, horizontal=True)
        if kind == "image":
            index = column.number_input(f"Image {name} (held-out index 0…{count - 1})", 0, count - 1, step=1,
                                        key=slot)
            ends.append(End("image", int(index)))
        elif kind == "class":
            cls = column.selectbox(f"Class of {name}", present, key=f"{slot}_class",
                                   format_func=lambda c: str(names[c]) if names and c < len(names) else str(c))
            ends.append(End("class", int(cls)))
        else:
            point = tuple(st.session_state[f"{slot}_point"])
            column.caption(f"{name} = ({point[0]:.3g}, {point[1]:.3g}) on the plane: click it to move {name}.")
            ends.append(End("point", point=point))
    return ends[0], ends[1]


def _steps_and_method() -> tuple[int, str]:
    state_from_query("steps", query_int("steps", STEPS_DEFAULT, *STEPS_RANGE))
    state_from_query("method", query_choice("method", list(METHODS), "linear"))
    pick_steps, pick_method = st.columns(2, gap="large")
    steps = pick_steps.slider("Steps", *STEPS_RANGE, key="steps")
    method = pick_method.radio("GIF download of", list(METHODS), key="method", format_func=METHODS.get,
                               horizontal=True)
    return steps, method


def _strip(choice: ModelChoice, ends: tuple[End, End], codes: tuple[torch.Tensor, torch.Tensor], rows: dict,
           steps: int) -> None:
    strip = tile(to_uint8(torch.cat(list(rows.values()))), steps, pad=2)
    first, middle, last = st.columns([1, 6, 1], vertical_alignment="center")
    for end, z, name, where in zip(ends, codes, "AB", (first, last)):
        if end.kind == "image":
            show(to_uint8(choice.data.test[end.index:end.index + 1])[0], f"{name}: {label_of(choice, end.index)}",
                 where=where)
        else:
            names = choice.label_names
            label = str(names[end.index]) if end.kind == "class" and names and end.index < len(names) else ""
            show(decode_one(choice.model, z), f"{name}: {escape_md(end_name(end, label))}, decoded", where=where)
    show(strip, f"{escape_md(choice.title)}: top row linear (1−t)·z_A + t·z_B, bottom row spherical (slerp), "
                f"{steps} steps from A's code to B's, decoded.", target=scaled(STRIP_PX), where=middle)


def _note(choice: ModelChoice, codes: torch.Tensor, za: torch.Tensor, zb: torch.Tensor) -> None:
    model = choice.model
    mid = {m: float(interpolate_codes(za, zb, 3, m)[1].norm()) for m in METHODS}
    latent = model.config.latent
    note = (f"‖z‖ at the midpoint: linear {mid['linear']:.2f}, slerp {mid['slerp']:.2f} "
            f"(‖z_A‖ = {za.norm():.2f}, ‖z_B‖ = {zb.norm():.2f}; a draw from N(0, I) in {latent}-D typically has "
            f"‖z‖ ≈ √{latent} = {latent ** 0.5:.1f}). Slerp turns the direction along an arc around the "
            f"origin while ‖z‖ moves linearly from ‖z_A‖ to ‖z_B‖, so it stays between the endpoints'; a straight "
            f"line cuts through the low-norm middle, which in high dimensions the prior almost never produces.")
    if not model.has_prior:
        note += (f" This plain AE's codes are not centred on 0 (their mean code has norm "
                 f"{codes.mean(0).norm():.2f}), so its slerp arc is a detour around the origin, not a better path.")
    st.caption(note)
