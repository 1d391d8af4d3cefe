"""The Hidden-unit features page and its plain helpers (pages/feature_plots.py)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from models.autoencoders import build_model
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.config import ModelConfig
from models.errors import ConfigError
from pages.feature_plots import (ABOVE_COLOUR, BELOW_COLOUR, config_summary, held_out_decodes, inverse_rgb,
                                 max_activating_inputs, signed_uint8, unit_features, unit_grid)

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/features.py"
ENLARGED = 8  # the unit view's pictures: 4 per model, drawn last on the page


def _single_layer_catalog() -> list[str]:
    names = []
    for entry in load_catalog():
        config = json.loads(entry.path.with_suffix(".json").read_text())["config"]
        if config["arch"] == "dense" and not config["hidden"]:
            names.append(entry.name)
    return names


SINGLE = _single_layer_catalog()
needs_pair = pytest.mark.skipif(not {"mnist_tied100", "mnist_untied100"} <= set(SINGLE),
                                reason="the tied/untied single-layer models are not in the catalog yet")


def run_page(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("markdown", "success", "info", "caption") for e in getattr(at, kind))


def image_urls(at: AppTest) -> list[str]:
    return [img.proto.imgs[0].url for img in at.get("image")]


def url(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value if isinstance(value, str) else value[0]


def catalog_model(name: str):
    return load_checkpoint(ROOT / "pretrained" / name)[0]


# --- the page ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("left", SINGLE)
def test_page_runs_for_every_single_layer_model_on_either_side(left):
    right = SINGLE[(SINGLE.index(left) + 1) % len(SINGLE)]  # each model appears once left, once right
    at = run_page(left=left, right=right)
    assert not at.error
    assert at.selectbox(key="left").value == left and at.selectbox(key="right").value == right
    # 5 grids + held-out strip per model, then the enlarged unit
    assert len(at.get("image")) == 2 * 6 + ENLARGED
    assert url(at, "left") == left and url(at, "right") == right


@needs_pair
def test_unit_selector_redraws_the_enlarged_unit_and_goes_in_the_url():
    at = run_page(left="mnist_tied100", right="mnist_untied100")
    assert at.slider(key="unit").value == 0
    before = image_urls(at)
    at.slider(key="unit").set_value(37).run()
    assert not at.exception
    after = image_urls(at)
    assert len(after) == len(before)
    changed = [a != b for a, b in zip(before[-ENLARGED:], after[-ENLARGED:])]
    assert all(changed), changed
    assert before[:-ENLARGED] == after[:-ENLARGED]  # the grids did not need redrawing
    assert url(at, "unit") == "37"
    assert any("unit 37" in m.value for m in at.markdown)


@needs_pair
@pytest.mark.parametrize(("given", "expected"), [("42", 42), ("oops", 0), ("500", 99), ("-3", 0)])
def test_url_unit_restores_the_unit_and_bad_values_fall_back(given, expected):
    at = run_page(left="mnist_tied100", right="mnist_untied100", unit=given)
    assert at.slider(key="unit").value == expected
    assert any(f"unit {expected}**" in m.value for m in at.markdown)


@needs_pair
def test_page_says_tied_decoder_is_w_transpose_and_reports_untied_cosine_and_undefined_inverse():
    at = run_page(left="mnist_tied100", right="mnist_untied100", unit="5")
    tied, untied = catalog_model("mnist_tied100"), catalog_model("mnist_untied100")
    assert torch.equal(tied.from_code.weight, tied.to_code.weight.t())
    claims = [s.value for s in at.success if "W′ = Wᵀ" in s.value]
    assert len(claims) == 1 and "Decoder weights are the encoder's" in claims[0]

    cosine = F.cosine_similarity(untied.to_code.weight, untied.from_code.weight.t(), dim=1).mean()
    assert any(f"**{cosine:.2f}**" in i.value and "Untied" in i.value for i in at.info)

    page = texts(at)
    with torch.no_grad():
        for model in (tied, untied):
            _, undefined = model.decode_inverse(torch.eye(model.config.latent))
            per_unit = undefined.flatten(1).float().mean(1) * 100
            assert f"f⁻¹ undefined at **{per_unit.mean():.1f}%** of pixels on average" in page
            assert f"f⁻¹ undefined at **{per_unit[5]:.1f}%** of pixels" in page


@needs_pair
def test_untied_model_is_not_called_tied():
    at = run_page(left="mnist_untied100", right="mnist_untied100")
    assert not [s for s in at.success if "W′ = Wᵀ" in s.value]


def test_page_explains_when_there_is_no_single_layer_model(monkeypatch):
    import pages.common as common  # noqa: PLC0415

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(PAGE)
    monkeypatch.setattr(common, "model_names", lambda dataset=None, where=None:
                        [] if where is not None else list(common.catalog()))
    at.run()
    assert not at.exception
    assert any("No single-layer model" in w.value for w in at.warning)


# --- plain helpers -------------------------------------------------------------------------------------------
def small_model(**options):
    torch.manual_seed(0)
    config = dict(hidden=(), latent=7, code_activation="sigmoid", input_shape=(1, 12, 10))
    return build_model(ModelConfig(**{**config, **options})).eval()


def test_max_activating_inputs_have_unit_norm_and_beat_other_unit_norm_inputs():
    model = small_model()
    weight = model.to_code.weight
    best = max_activating_inputs(weight)
    assert torch.allclose(best.norm(dim=1), torch.ones(7), atol=1e-6)
    others = F.normalize(torch.randn(500, weight.shape[1]), dim=1)
    with torch.no_grad():
        h_best = model.encode(best.reshape(7, 1, 12, 10)).diagonal()
        h_others = model.encode(others.reshape(500, 1, 12, 10))
    assert (h_best[None, :] >= h_others).all()


@pytest.mark.parametrize("tied", [True, False])
def test_unit_features_shapes_and_numbers_match_the_model(tied):
    model = small_model(tied=tied)
    features = unit_features(model)
    for array in (features.encoder, features.decoder, features.decoded, features.inverse, features.max_input):
        assert array.shape == (7, 1, 12, 10)
    assert features.undefined.shape == (7, 1, 12, 10) and features.undefined.dtype == bool
    with torch.no_grad():
        _, undefined = model.decode_inverse(torch.eye(7))
    np.testing.assert_allclose(features.undefined_percent, undefined.flatten(1).float().mean(1).numpy() * 100)
    np.testing.assert_allclose(features.weight_norms, model.to_code.weight.norm(dim=1).detach().numpy(),
                               rtol=1e-6)
    assert (features.tied_equal, features.tied_shared) == (tied, tied)
    if tied:
        np.testing.assert_allclose(features.cosine, 1.0, atol=1e-5)
        np.testing.assert_array_equal(features.encoder, features.decoder)
    else:
        assert abs(features.cosine.mean()) < 0.5  # two independent random initialisations


def test_unit_features_without_an_inverse_says_why_and_deep_models_are_refused():
    features = unit_features(small_model(code_activation="relu"))
    assert features.inverse is None and features.undefined_percent is None
    assert "sigmoid, tanh or identity" in features.inverse_error
    with pytest.raises(ConfigError, match="single-layer"):
        unit_features(small_model(hidden=(16,)))


def test_inverse_rgb_paints_undefined_pixels_and_stretches_only_the_defined_ones():
    values = np.array([[[-13.8, 0.5], [2.0, 13.8]]], dtype=np.float32)
    undefined = np.array([[[True, False], [False, True]]])
    rgb = inverse_rgb(values, undefined)
    assert rgb.shape == (1, 2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0, 0]) == BELOW_COLOUR and tuple(rgb[0, 1, 1]) == ABOVE_COLOUR
    assert tuple(rgb[0, 0, 1]) == (0, 0, 0) and tuple(rgb[0, 1, 0]) == (255, 255, 255)


def test_signed_uint8_puts_zero_at_mid_grey():
    picture = signed_uint8(np.array([[[[-2.0, 0.0, 1.0]]]]))
    assert picture.tolist() == [[[0, 128, 191]]]


def test_unit_grid_tiles_100_units_square_and_enlarges_for_a_projector():
    grey = np.zeros((100, 28, 28), dtype=np.uint8)
    assert unit_grid(grey, target=600).shape == (596, 596)  # 10×(28+2)−2 = 298, ×2
    assert unit_grid(np.zeros((100, 28, 28, 3), dtype=np.uint8), target=600).shape == (596, 596, 3)
    assert unit_grid(grey[:7], target=100).shape == (88, 88)  # 3×3 tile of 28 (+pad) = 88, factor 1


def test_held_out_decodes_percentages_cover_all_images():
    model = small_model()
    x = torch.rand(20, 1, 12, 10)
    decodes = held_out_decodes(model, x, show=3)
    assert decodes.images.shape == decodes.decoded.shape == decodes.inverse.shape == (3, 1, 12, 10)
    with torch.no_grad():
        _, undefined = model.decode_inverse(model.encode(x))
    assert decodes.undefined_percent == pytest.approx(undefined.float().mean().item() * 100)


def test_config_summary_names_tying_and_penalties():
    assert "tied W' = Wᵀ" in config_summary(small_model(tied=True))
    summary = config_summary(small_model(sparsity="kl", sparsity_weight=3, contractive_weight=0.5))
    assert "untied" in summary and "KL sparsity ρ=0.05, weight 3" in summary
    assert "contractive weight 0.5" in summary


def test_a_session_trained_model_without_an_inverse_and_fewer_units_is_explained_not_crashed():
    from models.data import load_dataset  # noqa: PLC0415
    from pages.common import TRAINED_KEY, ModelChoice  # noqa: PLC0415

    model = small_model(code_activation="relu", latent=30, input_shape=(1, 28, 28))
    mine = ModelChoice(name="mine", title="My ReLU layer", dataset="mnist", model=model, record={},
                       data=load_dataset("mnist", source="bundled"), trained_here=True)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[TRAINED_KEY] = {"mine": mine}
    at.query_params.update(left=SINGLE[0], right="mine", unit="50")
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="right").value == "mine"
    assert at.slider(key="unit").value == 29  # clamped to the smaller model's last unit
    assert any("sigmoid, tanh or identity" in i.value for i in at.info)
    assert any("no f⁻¹ for this model" in i.value for i in at.info)
    assert any("f⁻¹ undefined at **n/a**" in m.value for m in at.markdown)
