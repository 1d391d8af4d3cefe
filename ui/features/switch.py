"""Switch units off on the Hidden-unit features page: pick units, set each to 0 or to its held-out maximum, and see
both models' reconstructions of the first held-out images (the ones question (b) shows) and their loss on all
held-out images change. The maths is models/analysis/unit_switch.py; the choices are in the URL (?off=3,17&drive=5).
Drawn by pages/features.py."""

from __future__ import annotations

import streamlit as st
import torch

from models.analysis.unit_switch import (UnitSwitch, costs_sentence, parse_units, single_unit_costs,
                                         switch_sentence, switch_units)
from models.autoencoders import Autoencoder
from ui.features.plots import change_rgb, painted_rgb, rgb_rows
from ui.features.questions import SHOWN, STRIP_PX
from ui.features.tied import loss_name
from ui.messages import escape_md, user_errors
from ui.pictures import png_bytes
from ui.query import from_link, remember, set_query, state_from_query
from ui.session_models import ModelChoice

ROWS = "input x · as trained · with the units switched · the change"
CHOICES = (("switch_off", "off", "Set to 0 (switched off)"),
           ("switch_drive", "drive", "Set to its held-out maximum"))  # (widget key, URL key, label)


@st.cache_resource(show_spinner="Switching each unit off in turn…", max_entries=32)
def _costs(key: str, _model: Autoencoder, _x) -> torch.Tensor:
    return single_unit_costs(_model, _x)


@st.cache_resource(show_spinner=False, max_entries=64)
def _switch(key: str, off: tuple[int, ...], driven: tuple[int, ...], _model: Autoencoder, _x) -> UnitSwitch:
    return switch_units(_model, _x, off, driven)


@st.cache_data(show_spinner=False, max_entries=64)
def _strip_png(key: str, off: tuple[int, ...], driven: tuple[int, ...], _x, _result: UnitSwitch) -> bytes:
    rows = [painted_rgb(images[:SHOWN].numpy()) for images in (_x, _result.before, _result.after)]
    rows.append(_change(_result)[0])
    return png_bytes(rgb_rows(rows, SHOWN, STRIP_PX))


def _change(result: UnitSwitch):
    """The last row: after − before on the shown images, on one scale, and that scale."""
    return change_rgb(result.before[:SHOWN].numpy(), result.after[:SHOWN].numpy())


def switch_section(choices: list[ModelChoice]) -> None:
    with st.expander("Switch units off: what each model's reconstructions lose"):
        switch_view(choices)


@st.fragment
def switch_view(choices: list[ModelChoice]) -> None:
    """The two pickers and both models' before → after; a fragment, so picking a unit redraws only this part."""
    with user_errors("switching units"):
        units = min(choice.model.config.latent for choice in choices)
        st.markdown("Each unit adds its decoder column w′ᵢ, weighted by its value hᵢ, to the picture the decoder "
                    "draws. Set a unit to 0 and its column goes; set it to its largest value over the held-out "
                    "images and its column is drawn into every reconstruction. The same units for both models.")
        picked = [_pick(column, units, *names) for column, names in zip(st.columns(2), CHOICES)]
        off, driven = picked
        both = sorted(set(off) & set(driven))
        if both:
            st.warning(f"Unit {both[0]} is in both lists: a unit is either off or at its maximum. It counts as "
                       "switched off here.", icon=":material/warning:")
            driven = tuple(u for u in driven if u not in both)
        for column, choice in zip(st.columns(2), choices):
            with column:
                _side(choice, off, driven)


def _pick(column, units: int, key: str, url_key: str, label: str) -> tuple[int, ...]:
    """One multiselect of units, seeded from the URL (a link's value wins) and written back to it."""
    linked = from_link(url_key)
    if linked is not None:
        st.session_state[key] = parse_units(linked, units)
    state_from_query(key, parse_units(st.query_params.get(url_key), units))
    st.session_state[key] = [u for u in st.session_state[key] if u < units]  # a narrower model came in
    picked = tuple(column.multiselect(label, list(range(units)), key=key, format_func=lambda u: f"unit {u}"))
    if picked:
        set_query(**{url_key: ",".join(map(str, picked))})
    elif url_key in st.query_params:  # nothing picked: the key leaves the URL rather than stand empty
        del st.query_params[url_key]
        remember(url_key, None)
    return picked


def _side(choice: ModelChoice, off: tuple[int, ...], driven: tuple[int, ...]) -> None:
    x, model, loss = choice.data.test, choice.model, loss_name(choice)
    result = _switch(choice.cache_key, off, driven, model, x)
    st.markdown(f"**{escape_md(choice.title)}**")
    st.markdown(switch_sentence(result, loss))
    scale = _change(result)[1]
    st.image(_strip_png(choice.cache_key, off, driven, x, result), output_format="PNG",
             caption=f"{escape_md(choice.title)}: held-out images 0–{SHOWN - 1}, those (b) shows; rows: {ROWS} "
                     f"(mid-grey none, white brighter, black darker; the largest change here is ±{scale:.2f} in "
                     f"pixel value)")
    st.caption(costs_sentence(_costs(choice.cache_key, model, x), loss))
