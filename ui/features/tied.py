"""Question (a) on the Hidden-unit features page, and its facts on About: tied W′ = Wᵀ against an untied W′.

It leads with the converged shipped pair (mnist_tied100, mnist_untied100) scored on the same held-out digits
(models.analysis.tied_untied.compare_pair) on a loss axis that shows the gap; when tying does help (the gap table)
and the learning curves of the two models picked on the page are one click away."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.analysis.activation_words import measured_on
from models.analysis.feature_findings import curve_summary, gap_findings, gap_rows
from models.analysis.tied_findings import pair_lead
from models.analysis.tied_untied import PairLoss, compare_pair, learning_curve, parameter_count
from models.autoencoders import Autoencoder
from ui.features.plots import gap_axis_range, learning_curves_figure
from ui.features.questions import gap_table
from ui.messages import escape_md
from ui.session_models import ModelChoice, catalog, get_choice
from ui.tables import phone_table

PAIR = ("mnist_tied100", "mnist_untied100")  # both trained until the held-out loss stopped improving


def shipped_pair() -> tuple[ModelChoice, ModelChoice] | None:
    """The shipped tied and untied single-layer models (None when either is not shipped)."""
    if not set(PAIR) <= set(catalog()):
        return None
    return get_choice(PAIR[0]), get_choice(PAIR[1])


@st.cache_data(show_spinner="Scoring the tied and untied models on the held-out digits…", max_entries=8)
def _pair_loss(keys: tuple[str, str], _tied: Autoencoder, _untied: Autoencoder, _x) -> PairLoss:
    return compare_pair(_tied, _untied, _x)


def pair_loss(pair: tuple[ModelChoice, ModelChoice]) -> PairLoss:
    """Both models scored on the tied one's held-out images: the same images for both by construction."""
    tied, untied = pair
    return _pair_loss((tied.cache_key, untied.cache_key), tied.model, untied.model, tied.data.test)


def loss_name(choice: ModelChoice) -> str:
    return "BCE" if choice.model.config.loss == "bce" else "½‖x−x̂‖²"


def tied_section(choices: list[ModelChoice]) -> None:
    st.header("(a) Why learn W′ instead of tying W′ = Wᵀ?")
    pair = shipped_pair()
    if pair is not None:
        result = pair_loss(pair)
        scope = measured_on("The numbers in (a) are", pair[0].model.config.code_activation, activations(choices))
        st.markdown(f"{scope} {pair_lead(result, loss_name(pair[0]))}".strip())
        curves = {c.title: curve for c in pair if (curve := learning_curve(c.record)) is not None}
        if curves:
            st.plotly_chart(learning_curves_figure(curves), key="tied_pair_curves", config={"displayModeBar": False})
            st.caption(f"{escape_md(pair[0].title)} and {escape_md(pair[1].title)}, both trained until the held-out "
                       "loss stopped improving. Solid: held-out loss per image after each epoch; dashed: training "
                       f"loss; circled: the kept epoch. {off_the_top(curves)}")
    with st.expander("When does tying help? The gap at several widths and training-set sizes (sigmoid layer)"):
        gap_details(choices)
    with st.expander("The two models picked above: parameters and learning curves"):
        picked_curves(choices)


def off_the_top(curves: dict) -> str:
    """What the zoomed loss axis leaves out, in numbers."""
    top = gap_axis_range(curves)[1]
    highest = max(max(c.train + c.heldout) for c in curves.values())
    if highest <= top:
        return ""
    return (f"The axis stops at {top:.0f} to show the converged losses; the first epochs (up to {highest:.0f}) "
            f"run off the top.")


def picked_curves(choices: list[ModelChoice]) -> None:
    curves = {}
    for column, choice in zip(st.columns(2), choices):
        curve = learning_curve(choice.record)
        column.markdown(curve_summary(escape_md(choice.title), choice.record, curve, parameter_count(choice.model)))
        if curve is not None:
            curves[choice.title] = curve
    if curves:
        st.plotly_chart(learning_curves_figure(curves), key="tied_curves", config={"displayModeBar": False})
        st.caption("Solid: held-out loss per image after each epoch; dashed: the training loss; circled: the "
                   f"epoch whose weights the checkpoint keeps (its best held-out loss). {off_the_top(curves)}")


def activations(choices: list[ModelChoice]) -> list[str]:
    return [choice.model.config.code_activation for choice in choices]


def gap_details(choices: list[ModelChoice]) -> None:
    table, error = gap_table()
    if table is None:
        st.info(error or "The tied/untied gap table has not been computed yet (scripts/tied_untied_gap.py).")
        return
    # The gap runs (scripts/tied_untied_gap.py) train the sigmoid/BCE layer only.
    scope = measured_on("This table was", "sigmoid", activations(choices))
    st.markdown("**Generalisation gap at several widths and training-set sizes** (BCE per image, held-out − "
                f"train, each run stopped when its held-out loss stopped improving){': ' + scope if scope else ':'}")
    phone_table(pd.DataFrame(gap_rows(table)).set_index(["training digits", "units"]), "gaps")
    recipe = table.recipe
    st.caption(f"Single sigmoid layer, Adam lr {recipe.get('lr')}, batch {recipe.get('batch_size')}, seed "
               f"{recipe.get('seed')}; stopped after {recipe.get('patience')} epochs without a held-out "
               f"improvement, weights of the best epoch. Train loss {recipe.get('train_loss', '')}. The same "
               f"{recipe.get('heldout_size')} held-out digits for every run. Made by `{recipe.get('command')}`.")
    for line in gap_findings(table):
        st.markdown(f"- {line}")
