"""The Latent page's Contraction tab: how the encoder squeezes space around an input, for a contractive model beside
a plain one with the same code size. The lead is both models' mean ‖∂h/∂x‖_F and σ₁ over every held-out image; at a
chosen held-out image, the input directions the code is most and least sensitive to (J's right singular vectors) and
J's singular values. The maths is models/analysis/contraction.py."""

from __future__ import annotations

import html

import streamlit as st

from models.analysis.contraction import (Contraction, Directions, contraction, contraction_lead, null_directions,
                                         sensitive_directions)
from models.analysis.unit_features import neighbour_correlation
from models.autoencoders import Autoencoder
from ui.features.plots import signed_uint8
from ui.latent.explore import label_of, show
from ui.messages import escape_md, subscript
from ui.pictures import tile, to_uint8
from ui.projector import scaled
from ui.query import query_int, set_query, state_from_query
from ui.session_models import ModelChoice, model_names
from ui.sidebar import pick_model

CONTRACTION_TAB = "Contraction: CAE vs plain"  # the tab's label, also its value in the URL (?tab=…)
SHOWN = 4  # directions per row: the most sensitive, then the least
STRIP_PX = 300
DEFAULTS = ("mnist_contractive100", "mnist_untied100")  # one recipe, with and without the penalty
PENALTY = "‖∂h/∂x‖²_F"


@st.cache_resource(show_spinner="Computing the encoder's Jacobian at every held-out image…", max_entries=16)
def _contraction(key: str, _model: Autoencoder, _x) -> Contraction:
    return contraction(_model, _x)


@st.cache_resource(show_spinner=False, max_entries=64)
def _directions(key: str, index: int, _model: Autoencoder, _x) -> Directions:
    return sensitive_directions(_model, _x[index])


def contraction_tab(choice: ModelChoice) -> None:
    """choice: the sidebar's model; its dataset is the one compared, and it is the contractive side when it is one."""
    contractive = model_names(choice.dataset, where=lambda c: c.contractive_weight > 0)
    if not contractive:
        st.info(f"No contractive model for this dataset ({escape_md(choice.dataset)}). Train one on the Train page "
                f"with a contractive weight above 0 and it will appear here.")
        return
    default = choice.name if choice.name in contractive else DEFAULTS[0]
    lead = st.container()  # the sentence first; its numbers need both models, picked below it
    left, right = st.columns(2, gap="large")
    with left:
        cae = pick_model("Contractive model", contractive, default, key="cae",
                         help=f"Trained with the penalty {PENALTY}, which shrinks how far the code moves when the "
                              f"input moves.")
    latent = cae.model.config.latent
    plain = model_names(choice.dataset, where=lambda c: c.contractive_weight == 0 and c.latent == latent)
    if not plain:
        st.info(f"No plain model with a {latent}-unit code for this dataset to compare with. Train one on the "
                f"Train page (contractive weight 0, code size {latent}) and it will appear here.")
        return
    with right:
        other = pick_model(f"Plain model, also {latent} units", plain, DEFAULTS[1], key="plain",
                           help="The same code size without the contractive penalty.")
    x, pair = cae.data.test, (cae, other)
    what = f"held-out {'digits' if cae.dataset == 'mnist' else 'images'}"
    summaries = [_contraction(c.cache_key, c.model, x) for c in pair]
    lead.markdown(contraction_lead(*summaries, what))
    picker, chart = st.columns([1, 2], gap="large")
    with picker:
        index = _pick_image(len(x))
        show(to_uint8(x[index:index + 1])[0], f"x: {label_of(cae, index)}", target=scaled(112))
    found = [_directions(c.cache_key, index, c.model, x) for c in pair]
    with chart:
        # at x, only the singular values above rounding: the rest would stretch the log axis to 1e-16
        curves = {c.title: (f.values[:f.nonzero], s.mean_spectrum) for c, f, s in zip(pair, found, summaries)}
        st.plotly_chart(spectrum_figure(curves), key="contraction_spectrum", config={"displayModeBar": False})
    for column, model_choice, directions in zip(st.columns(2, gap="large"), pair, found):
        with column:
            _side(model_choice, directions)
    st.caption(f"A small step δ in the input moves the code by about Jδ, J = ∂h/∂x. Along the direction vₖ (a unit-"
               f"length image) it moves by σₖ, J's k-th singular value. Mid-grey is 0, white positive, black "
               f"negative; a direction's sign is arbitrary (−vₖ moves the code as far). "
               f"{null_directions(latent, x[0].numel())} The contractive model was trained with {PENALTY} = Σ σₖ² "
               f"added to its loss (weight {cae.model.config.contractive_weight:g}).")


def _pick_image(count: int) -> int:
    state_from_query("squeeze_x", query_int("x", 0, 0, count - 1))
    if not 0 <= st.session_state["squeeze_x"] < count:
        st.session_state["squeeze_x"] = 0
    index = int(st.number_input(f"Held-out image (0…{count - 1})", 0, count - 1, step=1, key="squeeze_x"))
    set_query(x=index)
    return index


def shown_directions(nonzero: int, per_row: int = SHOWN) -> tuple[list[int], list[int]]:
    """Which directions to draw: the `per_row` most sensitive and the `per_row` least sensitive of the `nonzero`
    ones; all of them in the first row when there are no more than two rows' worth."""
    if nonzero <= 2 * per_row:
        return list(range(nonzero)), []
    return list(range(per_row)), list(range(nonzero - per_row, nonzero))


def _side(choice: ModelChoice, found: Directions) -> None:
    k = found.nonzero
    top, bottom = shown_directions(k)
    rank = "" if k == len(found.values) else (f" (the smallest above rounding: the code follows {k} of its "
                                              f"{len(found.values)} directions here)")
    smooth = neighbour_correlation(found.vectors[top].numpy())
    st.markdown(f"**{escape_md(choice.title)}** at this image: ‖J‖_F = **{float(found.values.norm()):.2f}**, "
                f"σ₁ = **{float(found.values[0]):.2f}** … σ{subscript(k)} = **{float(found.values[k - 1]):.2g}**"
                f"{rank}. Neighbouring pixels of its {len(top)} most followed directions correlate "
                f"**{smooth:+.2f}** (1: smooth strokes, 0: pixel noise).")
    pictures = signed_uint8(found.vectors[top + bottom].numpy())
    sigmas = [", ".join(f"{float(found.values[i]):.2g}" for i in part) for part in (top, bottom)]
    if bottom:
        text = (f"Top: v₁…v{subscript(len(top))}, the directions the code follows most (σ = {sigmas[0]}); bottom: "
                f"v{subscript(bottom[0] + 1)}…v{subscript(k)}, the ones it follows least (σ = {sigmas[1]})")
    else:
        text = f"v₁…v{subscript(k)}, every direction the code follows, most to least (σ = {sigmas[0]})"
    show(tile(pictures, len(top), pad=2), f"{escape_md(choice.title)}. {text}", target=scaled(STRIP_PX))


def spectrum_figure(curves: dict):
    """Plotly figure: each model's singular values σₖ against k on a log axis, at the chosen image (solid) and
    their mean over the held-out images (dashed). `curves` maps a title to (values at x, mean values)."""
    from ui import pandas_first  # noqa: F401 (before plotly: see that module)
    import plotly.graph_objects as go  # noqa: PLC0415

    fig = go.Figure()
    for (title, (at_x, mean)), colour in zip(curves.items(), ("#1f77b4", "#ff7f0e")):
        title = html.escape(title)  # plotly reads a little HTML in trace names
        fig.add_trace(go.Scatter(x=list(range(1, len(at_x) + 1)), y=at_x.tolist(), name=f"{title}: at x",
                                 mode="lines", line=dict(color=colour)))
        fig.add_trace(go.Scatter(x=list(range(1, len(mean) + 1)), y=mean.tolist(), name=f"{title}: held-out mean",
                                 mode="lines",
                                 line=dict(color=colour, dash="dash")))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="k (largest first)",
                      yaxis_title="σₖ", yaxis_type="log", yaxis_exponentformat="power",
                      legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))
    return fig
