"""The Train page's form, drawn: the four choices that decide which settings apply (dataset, kind, architecture,
regulariser) sit above the form, where a change reruns the page, and the form below holds only the settings those
choices use. The form's other fields send nothing until Train is pressed, so one press is one run.

Which fields apply is ui.train.form.fields_that_apply (plain, tested); a field not shown takes TrainForm's
default. The widget keys are the ones the tests and the browser drive (train_<field>).
"""

from __future__ import annotations

import streamlit as st

from ui.train.form import (BATCH_SIZES, DATASETS, LEARNING_RATES, MAX_EPOCHS, REGULARISERS, USER_SIDES, TrainForm,
                           fields_that_apply)

DEFAULTS = TrainForm()
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "identity")
CODE_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
NOISES = {"gaussian": "Gaussian", "masking": "masking", "salt_pepper": "salt and pepper"}
KINDS = {"ae": "AE", "vae": "VAE"}
ARCHS = {"dense": "dense", "conv": "convolutional"}


def choices() -> dict:
    """The four choices, outside the form: each change reruns the page, which redraws the form's fields."""
    data_col, kind_col, arch_col, reg_col = st.columns([5, 2, 3, 5], gap="medium")
    return {
        "dataset": data_col.radio("Dataset", list(DATASETS), format_func=DATASETS.get, key="train_dataset"),
        "kind": kind_col.radio("Kind", list(KINDS), format_func=KINDS.get, horizontal=True, key="train_kind"),
        "arch": arch_col.radio("Architecture", list(ARCHS), format_func=ARCHS.get, horizontal=True,
                               key="train_arch"),
        "regulariser": reg_col.selectbox("Regulariser", list(REGULARISERS), format_func=REGULARISERS.get,
                                         key="train_regulariser"),
    }


def data_fields(shown: frozenset[str], values: dict):
    """Your images (when chosen) and the training settings; returns the upload or None."""
    d, upload = DEFAULTS, None
    if "upload" in shown:
        upload = st.file_uploader("Your images: one .zip of PNG/JPEG files (sub-folders become labels)",
                                  type=["zip"], key="train_upload")
        values["image_side"] = st.select_slider("Your images are resized to (pixels, square, grayscale)",
                                                USER_SIDES, value=d.image_side, key="train_side")
    values["epochs"] = st.slider("Epochs", 1, MAX_EPOCHS, d.epochs, key="train_epochs")
    values["lr"] = st.select_slider("Learning rate (Adam)", LEARNING_RATES, value=d.lr,
                                    format_func=lambda v: f"{v:g}", key="train_lr")
    values["batch_size"] = st.select_slider("Batch size", BATCH_SIZES, value=d.batch_size, key="train_batch")
    values["seed"] = st.number_input("Seed (initial weights, batch order, noise)", value=d.seed, step=1,
                                     key="train_seed")
    return upload


def model_fields(shown: frozenset[str], values: dict) -> None:
    d = DEFAULTS
    values["latent"] = st.number_input("Latent size (code units), 1 to 256", value=d.latent, step=1,
                                       key="train_latent")
    values["hidden"] = st.text_input("Hidden sizes", d.hidden, key="train_hidden",
                                     help="Dense: layer widths from the input inwards, e.g. 512, 256; leave empty "
                                          "for a single layer. Convolutional: channels of each stride-2 layer, "
                                          "e.g. 32, 64.")
    values["activation"] = st.selectbox("Hidden activation", HIDDEN_ACTIVATIONS, key="train_activation")
    if "code_activation" in shown:
        kl = values["regulariser"] == "kl"  # its target ρ is a mean activation in (0, 1): only a sigmoid has that
        values["code_activation"] = st.selectbox("Code activation", ("sigmoid",) if kl else CODE_ACTIVATIONS,
                                                 key="train_code_activation",
                                                 help="KL sparsity needs a sigmoid code: its target ρ is a mean "
                                                      "activation between 0 and 1." if kl else None)
    values["loss"] = st.radio("Reconstruction loss", ["bce", "mse"], horizontal=True, key="train_loss",
                              format_func={"bce": "binary cross-entropy", "mse": "½ squared error"}.get)
    if "tied" in shown:
        values["tied"] = st.checkbox("Tied weights W′ = Wᵀ", d.tied, key="train_tied")
    if "beta" in shown:
        values["beta"] = st.number_input("β: weight of the KL term, 0 to 100", value=d.beta, step=0.5,
                                         key="train_beta")


def regulariser_fields(shown: frozenset[str], values: dict, regulariser: str) -> None:
    d = DEFAULTS
    if "noise" in shown:
        values["noise"] = st.selectbox("Noise", list(NOISES), format_func=NOISES.get, key="train_noise")
        values["noise_level"] = st.number_input("Noise level: Gaussian σ up to 5, or the fraction of pixels hit",
                                                value=d.noise_level, step=0.05, key="train_noise_level")
    if "weight" in shown:
        values["weight"] = st.number_input("Penalty weight λ, 0 to 1000", value=d.weight, step=0.1,
                                           key="train_weight")
    if "rho" in shown:
        values["rho"] = st.number_input("Target mean activation ρ, 0.001 to 0.999", value=d.rho, step=0.01,
                                        format="%.3f", key="train_rho")
    if regulariser == "none":
        st.caption("No regulariser: nothing to set. Choose one above to see its settings.")


def training_form():
    """Draw the choices and the form; returns (TrainForm, uploaded zip or None, submitted)."""
    with st.container(border=True, key="train_settings"):
        values = choices()
        shown = fields_that_apply(**values)
        with st.form("train_form", border=False):
            data_col, model_col, reg_col = st.columns(3, gap="large")
            with data_col:
                st.markdown("**Data and training**")
                upload = data_fields(shown, values)
            with model_col:
                st.markdown(f"**Model** ({KINDS[values['kind']]}, {ARCHS[values['arch']]})")
                model_fields(shown, values)
            with reg_col:
                st.markdown(f"**Regulariser**: {REGULARISERS[values['regulariser']]}")
                regulariser_fields(shown, values, values["regulariser"])
            submitted = st.form_submit_button("Train", type="primary", icon="🏋️", key="train_submit")
    return TrainForm(**values), upload, submitted
