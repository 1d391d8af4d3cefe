"""The Denoising page in AppTest, and how it picks its default pair of models."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from models.config import ModelConfig
from tests.app.apptest import app_test
from ui.reconstructions import plots as rp

CATALOG = {entry.name: entry for entry in load_catalog()}
MNIST = "mnist_cae16" if "mnist_cae16" in CATALOG else next(n for n, e in CATALOG.items() if e.dataset == "mnist")
CLEAN, NOISY, DENOISER, PLAIN = range(4)  # the image rows, top to bottom


def open_page(model: str = MNIST, **params: str) -> AppTest:
    at = app_test()
    at.query_params["model"] = model
    for key, value in params.items():
        at.query_params[key] = value
    at.run()  # the first run sets up st.navigation; only then can a test switch page
    at.switch_page("pages/denoising.py").run()
    assert not at.exception
    assert at.title[0].value == "Denoising"
    return at


def rows(at: AppTest) -> list[str]:
    """Image URLs of the rows; the media store names a file by its content, so equal URLs mean equal pictures."""
    return [image.value[0] for image in at.get("image")]


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    """(value, delta) by row: noisy, denoiser, plain, each with PSNR then SSIM."""
    values = [(m.label, m.value, m.delta) for m in at.metric]
    assert [label for label, _, _ in values] == ["PSNR (dB)", "SSIM"] * 3
    return {row: (values[2 * i][1:], values[2 * i + 1][1:]) for i, row in enumerate(("noisy", "dae", "plain"))}


def psnr(at: AppTest, row: str) -> float:
    return float(metrics(at)[row][0][0])


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_page_runs_with_every_pretrained_model_as_the_denoiser(name):
    at = open_page(name, dae=name)
    assert not at.error
    assert at.selectbox(key="dae").value == name
    assert len(rows(at)) == 4
    found = metrics(at)
    assert found["noisy"][0][1] == ""  # the input has no gain over itself
    assert found["dae"][0][1][0] in "+-" and found["plain"][0][1][0] in "+-"


def test_level_slider_changes_the_noisy_images_and_their_psnr():
    at = open_page()
    before, psnr_before = rows(at), psnr(at, "noisy")
    at.slider(key="noise_level").set_value(0.8).run()
    assert not at.exception
    after = rows(at)
    assert after[CLEAN] == before[CLEAN]  # the same held-out images
    assert after[NOISY] != before[NOISY] and after[DENOISER] != before[DENOISER]
    assert psnr(at, "noisy") < psnr_before  # more noise, lower PSNR
    assert at.query_params["level"] == "0.8"


def test_noise_type_switch_changes_the_output_and_clamps_the_level():
    at = open_page(level="1.0")
    before = rows(at)
    assert at.slider(key="noise_level").value == 1.0
    at.radio(key="noise_type").set_value("masking").run()
    assert not at.exception
    assert rows(at)[NOISY] != before[NOISY]
    assert at.slider(key="noise_level").value == 0.9  # masking hides at most 90 % of the pixels
    assert at.query_params["noise"] == "masking"
    at.radio(key="noise_type").set_value("salt_pepper").run()
    assert not at.exception
    assert "black or white" in at.slider(key="noise_level").label


def test_url_restores_type_and_level_and_the_very_same_noise():
    at = open_page(noise="salt_pepper", level="0.7")
    assert at.radio(key="noise_type").value == "salt_pepper"
    assert at.slider(key="noise_level").value == 0.7
    again = open_page(noise="salt_pepper", level="0.7")
    assert rows(again) == rows(at)  # a shared link shows the same noise
    assert metrics(again) == metrics(at)


@pytest.mark.parametrize("noise, level", [("abc", "abc"), ("gaussian", "nan"), ("blur", "-3")])
def test_bad_url_values_fall_back(noise, level):
    at = open_page(noise=noise, level=level)
    assert not at.error
    assert at.radio(key="noise_type").value == "gaussian"
    assert at.slider(key="noise_level").value == (0.0 if level == "-3" else 0.5)


def test_no_noise_shows_plain_reconstructions_without_gains():
    at = open_page(level="0")
    found = metrics(at)
    assert found["noisy"] == (("∞", ""), ("1.000", ""))
    assert found["dae"][0][1] == "" and found["plain"][0][1] == ""
    assert any("No noise" in caption.value for caption in at.caption)


def test_both_models_denoise_the_same_images_and_can_be_picked():
    mnist = [n for n, e in CATALOG.items() if e.dataset == "mnist"]
    other = next(n for n in mnist if n != MNIST)
    at = open_page(dae=MNIST, plain=MNIST)
    same = rows(at)
    assert same[DENOISER] == same[PLAIN]  # one model, one input: one output
    at.selectbox(key="plain").set_value(other).run()
    assert not at.exception
    assert rows(at)[NOISY] == same[NOISY] and rows(at)[PLAIN] != same[PLAIN]
    assert at.query_params["plain"] == other


def test_denoising_model_beats_the_plain_one_at_its_training_noise():
    if not {"mnist_dcae16", "mnist_cae16"} <= set(CATALOG):
        pytest.skip("needs mnist_dcae16 and mnist_cae16")
    at = open_page("mnist_dcae16", noise="gaussian", level="0.5")
    assert at.selectbox(key="dae").value == "mnist_dcae16"  # the defaults for MNIST
    assert at.selectbox(key="plain").value == "mnist_cae16"
    assert psnr(at, "dae") > psnr(at, "plain") + 3
    assert psnr(at, "dae") > psnr(at, "noisy")


# --- default pair -------------------------------------------------------------------------------------
def test_default_pair_prefers_the_named_models():
    configs = {"mnist_ae2": ModelConfig(), "mnist_dcae16": ModelConfig(noise="gaussian", noise_level=0.5),
               "mnist_cae16": ModelConfig()}
    assert rp.default_pair("mnist", configs) == ("mnist_dcae16", "mnist_cae16")


def test_default_pair_falls_back_to_any_denoiser_and_any_plain_ae():
    configs = {"mnist_vae2": ModelConfig(kind="vae"), "mine": ModelConfig(noise="masking", noise_level=0.3),
               "mnist_ae2": ModelConfig()}
    assert rp.default_pair("mnist", configs) == ("mine", "mnist_ae2")


def test_default_pair_without_a_denoiser_never_shows_the_plain_ae_twice():
    configs = {"olivetti_cvae2": ModelConfig(kind="vae"), "olivetti_cae32": ModelConfig()}
    assert rp.default_pair("olivetti", configs) == ("olivetti_cvae2", "olivetti_cae32")
    assert rp.default_pair("olivetti", {"olivetti_cae32": ModelConfig()}) == ("olivetti_cae32",) * 2  # only one


def test_default_pair_takes_a_faces_denoiser_when_one_is_shipped():
    configs = {"olivetti_cvae2": ModelConfig(kind="vae"), "olivetti_cae32": ModelConfig(),
               "olivetti_dcae32": ModelConfig(noise="gaussian", noise_level=0.2)}
    assert rp.default_pair("olivetti", configs) == ("olivetti_dcae32", "olivetti_cae32")


def test_switching_dataset_in_the_sidebar_resets_the_pickers_to_that_datasets_defaults():
    if "olivetti_cae32" not in CATALOG:
        pytest.skip("needs olivetti_cae32")
    at = open_page()
    at.sidebar.selectbox(key="sidebar_dataset").set_value("olivetti").run()
    assert not at.exception
    assert at.selectbox(key="plain").value == "olivetti_cae32"
    assert at.selectbox(key="dae").value == ("olivetti_dcae32" if "olivetti_dcae32" in CATALOG else "olivetti_cvae2")
    assert rows(at)[DENOISER] != rows(at)[PLAIN]
    assert len(rows(at)) == 4
