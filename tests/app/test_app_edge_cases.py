"""Odd but legal models and data that students make on the Train page or upload: every page stays up.

Each case once crashed a page (found in review); the sessions' own models are injected as the Train page
registers them.
"""


import pytest
import torch
from streamlit.testing.v1 import AppTest

from models.autoencoders import build_model
from models.config import ModelConfig
from models.data import Dataset
from models.training.trainer import evaluate
from tests.app.apptest import app_test
from ui.session_models import TRAINED_KEY, ModelChoice
from ui.train.form import checked_record


def run_page(page: str, trained: dict, **params: str) -> AppTest:
    at = app_test()
    at.session_state[TRAINED_KEY] = trained
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def user_data(side: int, labels=None, label_names=None, test_labels=None) -> Dataset:
    g = torch.Generator().manual_seed(side)
    return Dataset("user", torch.rand(18, 1, side, side, generator=g), torch.rand(2, 1, side, side, generator=g),
                   labels, test_labels, label_names, f"test images at {side}×{side}")


def test_features_page_with_a_one_unit_model(mnist):
    model = build_model(ModelConfig(hidden=(), latent=1, code_activation="sigmoid")).eval()
    one = ModelChoice("one", "one unit", "mnist", model, {}, mnist, trained_here=True)
    at = run_page("pages/features.py", {"one": one}, left="one", right="one")
    assert "unit" not in [s.key for s in at.slider]  # a slider needs two values; unit 0 is shown as is
    assert any("unit 0" in m.value for m in at.markdown)


def test_reconstructions_offers_only_classes_that_have_held_out_images():
    data = user_data(28, torch.tensor([0] * 9 + [1] * 9), ("cats", "dogs"), torch.tensor([0, 0]))
    model = build_model(ModelConfig(hidden=(8,), latent=2)).eval()
    trained = {"u": ModelChoice("u", "u", "user", model, {}, data, trained_here=True)}
    at = run_page("pages/reconstructions.py", trained, model="u", **{"class": "dogs"})
    assert at.selectbox(key="recon_class").options == ["all", "cats"]
    assert at.selectbox(key="recon_class").value == "all"  # the shared link's missing class falls back


def test_denoising_only_pairs_models_that_take_the_same_image_size():
    small = build_model(ModelConfig(hidden=(8,), latent=2, input_shape=(1, 28, 28))).eval()
    large = build_model(ModelConfig(hidden=(8,), latent=2, input_shape=(1, 64, 64))).eval()
    trained = {"u28": ModelChoice("u28", "u28", "user", small, {}, user_data(28), trained_here=True),
               "u64": ModelChoice("u64", "u64", "user", large, {}, user_data(64), trained_here=True)}
    at = run_page("pages/denoising.py", trained, model="u28", plain="u64")
    assert "u64" not in at.selectbox(key="plain").options and at.selectbox(key="plain").value == "u28"


def test_an_uploaded_record_is_never_shown_unchecked(mnist):
    model = build_model(ModelConfig(hidden=(8,), latent=2)).eval()
    record = checked_record({"final_heldout_loss": "12.3", "epochs": "many"}, model, mnist)
    assert record["final_heldout_loss"] == pytest.approx(evaluate(model, mnist.test)["loss"])
    assert record["epochs"] is None and record["uploaded_record"]["final_heldout_loss"] == "12.3"
    trained = {"up": ModelChoice("up", "up", "mnist", model, record, mnist)}
    at = run_page("pages/reconstructions.py", trained, model="up")
    captions = [c.value for c in at.sidebar.caption]
    assert f"held-out loss {record['final_heldout_loss']:.2f} per image" in captions
    assert not any("Trained" in c for c in captions)  # no epoch count was given as a number


def test_the_sidebar_says_which_epoch_a_model_kept_and_shows_a_long_name_whole(mnist):
    model = build_model(ModelConfig(hidden=(8,), latent=2)).eval()
    record = {"epochs": 12, "best_epoch": 7, "final_heldout_loss": 123.456}
    title = "Dense AE, latent 2, hidden 8, 12 epochs (trained here, a name too long for the picker)"
    trained = {"long": ModelChoice("long", title, "mnist", model, record, mnist, trained_here=True)}
    at = run_page("pages/reconstructions.py", trained, model="long")
    captions = [c.value for c in at.sidebar.caption]
    assert "Trained 12 epochs, kept epoch 7 · held-out loss 123.46 per image" in captions
    assert any(c.startswith("Model: Dense AE, latent 2, hidden 8, 12 epochs") and "too long for the picker" in c
               for c in captions)  # the whole name (Markdown-escaped), not the picker's cut
    short = {"short": ModelChoice("short", "Tiny AE", "mnist", model, {**record, "best_epoch": 12}, mnist,
                                  trained_here=True)}
    captions = [c.value for c in run_page("pages/reconstructions.py", short, model="short").sidebar.caption]
    assert "Trained 12 epochs · held-out loss 123.46 per image" in captions  # the last epoch kept: nothing to add
    assert not any(c.startswith("Model:") for c in captions)
