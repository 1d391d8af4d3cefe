"""The Train form shows only the fields that apply: the four choices above it (dataset, kind, architecture,
regulariser) rerun the page and the form's fields follow; a field that is not shown takes its default, so a value
set while it applied cannot break a run after it stops applying."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.test_app_train import RUN_KEY, finish_training, label_trained_picks, texts, train_page, trained

OPTIONAL = {"train_upload", "train_side", "train_code_activation", "train_tied", "train_beta", "train_noise",
            "train_noise_level", "train_weight", "train_rho"}


def form_keys(at: AppTest) -> set[str]:
    """The keys of the form's widgets on the page now (the optional ones only)."""
    kinds = ("file_uploader", "select_slider", "selectbox", "checkbox", "number_input")
    return {w.key for kind in kinds for w in getattr(at, kind) if w.key in OPTIONAL}


def choose(at: AppTest, **choices) -> AppTest:
    """Set the choices above the form; each change reruns the page, as in the browser."""
    for key, value in choices.items():
        widget = at.radio(key=f"train_{key}") if key != "regulariser" else at.selectbox(key="train_regulariser")
        widget.set_value(value).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_defaults_show_no_upload_no_noise_no_penalty_and_no_beta():
    at = train_page()
    assert form_keys(at) == {"train_code_activation", "train_tied"}  # a dense AE on MNIST, no regulariser
    assert "No regulariser: nothing to set" in texts(at.caption)


def test_each_choice_brings_its_own_fields():
    at = train_page()
    assert form_keys(choose(at, dataset="user")) == {"train_upload", "train_side", "train_code_activation",
                                                     "train_tied"}
    assert form_keys(choose(at, dataset="mnist", kind="vae")) == {"train_beta", "train_tied"}
    assert form_keys(choose(at, arch="conv")) == {"train_beta"}
    assert form_keys(choose(at, kind="ae", arch="dense", regulariser="denoising")) == {
        "train_code_activation", "train_tied", "train_noise", "train_noise_level"}
    assert form_keys(choose(at, regulariser="l1")) == {"train_code_activation", "train_tied", "train_weight"}
    assert form_keys(choose(at, regulariser="kl")) == {"train_code_activation", "train_tied", "train_weight",
                                                       "train_rho"}
    assert form_keys(choose(at, regulariser="contractive")) == {"train_code_activation", "train_tied",
                                                                "train_weight"}
    assert "No regulariser" not in texts(at.caption)


def test_a_field_that_no_longer_applies_takes_its_default_and_the_run_trains():
    """Tied weights ticked for a dense model, then convolutional chosen: the run is not refused for tied
    weights (conv has none), and a VAE's β is its default 1 after the kind goes back to AE."""
    at = train_page()
    at.checkbox(key="train_tied").check()
    choose(at, arch="conv")
    at.slider(key="train_epochs").set_value(1)
    at.text_input(key="train_hidden").set_value("4")
    at.button(key="train_submit").click().run()
    assert not at.exception and not at.error, texts(at.error)
    run = at.session_state[RUN_KEY]
    assert run.model_config.arch == "conv" and run.model_config.tied is False
    finish_training(at)
    (choice,) = trained(at).values()
    assert choice.model.config.arch == "conv" and not choice.model.config.tied


def test_kl_sparsity_offers_only_a_sigmoid_code_and_trains():
    at = choose(train_page(), regulariser="kl")
    picker = at.selectbox(key="train_code_activation")
    assert picker.options == ["sigmoid"] and picker.value == "sigmoid"
    at.slider(key="train_epochs").set_value(1)
    at.text_input(key="train_hidden").set_value("8")
    at.button(key="train_submit").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert at.session_state[RUN_KEY].model_config.code_activation == "sigmoid"
    finish_training(at)
    label_trained_picks(at)  # the sidebar now shows the new model (AppTest sends its label as the browser does)
    assert choose(at, regulariser="none").selectbox(key="train_code_activation").options[0] == "identity"
