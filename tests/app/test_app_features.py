"""The Hidden-unit features page, its pictures (ui/features/plots.py), its sentences (models/analysis/feature_findings.py) and
the per-unit maths (models/analysis/unit_features.py)."""


import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from models.checkpoint import load_checkpoint
from tests import ROOT
from tests.app.apptest import app_test
from tests.unit.test_feature_pictures import SINGLE, needs_pair, small_model
from ui.features.plots import TILE_STRETCH, VIEWS

PAGE = "pages/features.py"
TAB_PHRASES = {"encoder": "Row i of the encoder W", "decoder": "Column i of the decoder W′",
               "decoded": "The decoder's output for the one-hot code", "inverse": "The same code with f⁻¹",
               "max_input": "x* = wᵢ/‖wᵢ‖"}
ENLARGED = 8  # the unit view's pictures: 4 per model, drawn last on the page


def run_page(**params) -> AppTest:
    at = app_test()
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


def held_out():
    from models.data import load_dataset  # noqa: PLC0415

    return load_dataset("mnist", source="bundled").test


# --- the page ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("left", SINGLE)
def test_page_runs_for_every_single_layer_model_on_either_side(left):
    right = SINGLE[(SINGLE.index(left) + 1) % len(SINGLE)]  # each model appears once left, once right
    at = run_page(left=left, right=right)
    assert not at.error
    assert at.selectbox(key="left").value == left and at.selectbox(key="right").value == right
    # per model: the switched-units strip, the decodings strip, the reactivation strip and the open tab's grid;
    # then the enlarged unit
    assert len(at.get("image")) == 2 * 4 + ENLARGED
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
    at = run_page(left="mnist_tied100", right="mnist_untied100", unit="5", tab=VIEWS["inverse"])
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
@pytest.mark.parametrize("view", list(VIEWS))
def test_the_open_grid_tab_comes_from_the_url_and_only_it_is_drawn(view):
    at = run_page(left="mnist_tied100", right="mnist_untied100", tab=VIEWS[view])
    assert at.session_state["tab"] == VIEWS[view]
    drawn = [v for v, phrase in TAB_PHRASES.items() if any(m.value.startswith(phrase) for m in at.markdown)]
    assert drawn == [view]  # this tab's explanation, no other tab's
    assert len(at.get("image")) == 2 * 4 + ENLARGED  # and one grid per model
    # the weight and decode tiles are stretched over a percentile range now, and the page says so
    explanation = next(m.value for m in at.markdown if m.value.startswith(TAB_PHRASES[view]))
    assert (TILE_STRETCH in explanation) == (view in ("encoder", "decoder", "decoded"))
    captions = [img.proto.imgs[0].caption for img in at.get("image")]
    assert sum(TILE_STRETCH in c for c in captions) == 2  # the two reactivation strips
    assert not any(old in text for text in [texts(at), *captions] for old in ("min…max", "its own range"))


@needs_pair
@pytest.mark.parametrize("tab", [None, "no such tab"])
def test_the_page_opens_on_the_decoder_columns_and_an_unknown_tab_falls_back_to_them(tab):
    at = run_page(left="mnist_tied100", right="mnist_untied100", **({"tab": tab} if tab else {}))
    assert not at.exception and at.session_state["tab"] == VIEWS["decoder"] == list(VIEWS.values())[0]
    assert [v for v, phrase in TAB_PHRASES.items() if any(m.value.startswith(phrase) for m in at.markdown)] == ["decoder"]


@needs_pair
def test_the_grids_say_why_the_untied_encoder_rows_look_like_noise_from_measured_correlations():
    from models.analysis.unit_features import neighbour_correlation, unit_features  # noqa: PLC0415

    at = run_page(left="mnist_tied100", right="mnist_untied100")
    tied, untied = (unit_features(catalog_model(n)) for n in ("mnist_tied100", "mnist_untied100"))
    digits = neighbour_correlation(held_out().numpy())
    lead = next(m.value for m in at.markdown if m.value.startswith("Right model: encoder rows look like noise"))
    assert f"correlate **{neighbour_correlation(untied.encoder):+.2f}**;" in lead
    assert f"its decoder columns **{neighbour_correlation(untied.decoder):+.2f}**)" in lead
    assert f"on smooth images (**{digits:+.2f}**, 500 held-out)" in lead
    assert f"Left: a tied W also draws the output (**{neighbour_correlation(tied.encoder):+.2f}**)." in lead


@needs_pair
def test_a_link_naming_a_model_the_app_does_not_have_says_so_and_shows_the_default():
    at = run_page(left="trained-a26230", right="mnist_untied100")
    assert at.selectbox(key="left").value == "mnist_tied100"
    assert any("trained-a26230" in w.value.replace("\\", "") and "Showing" in w.value for w in at.warning)
    assert url(at, "left") == "mnist_tied100"


@needs_pair
def test_the_pickers_never_default_to_one_model_twice():
    at = run_page(left="mnist_untied100")  # the right side's default is mnist_untied100 too
    assert at.selectbox(key="right").value != "mnist_untied100"


@needs_pair
def test_untied_model_is_not_called_tied():
    at = run_page(left="mnist_untied100", right="mnist_untied100")
    assert not [s for s in at.success if "W′ = Wᵀ" in s.value]


def test_page_explains_when_there_is_no_single_layer_model(monkeypatch):
    import ui.session_models as common  # noqa: PLC0415

    at = app_test()
    at.switch_page(PAGE)
    monkeypatch.setattr(common, "model_names", lambda dataset=None, where=None:
                        [] if where is not None else list(common.catalog()))
    at.run()
    assert not at.exception
    assert any("No single-layer model" in w.value for w in at.warning)


def test_a_session_trained_model_without_an_inverse_and_fewer_units_is_explained_not_crashed():
    from models.data import load_dataset  # noqa: PLC0415
    from ui.session_models import TRAINED_KEY, ModelChoice  # noqa: PLC0415

    model = small_model(code_activation="relu", latent=30, input_shape=(1, 28, 28))
    mine = ModelChoice(name="mine", title="My ReLU layer", dataset="mnist", model=model, record={},
                       data=load_dataset("mnist", source="bundled"), trained_here=True)
    at = app_test()
    at.session_state[TRAINED_KEY] = {"mine": mine}
    at.query_params.update(left=SINGLE[0], right="mine", unit="50", tab=VIEWS["inverse"])
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="right").value == "mine"
    assert at.slider(key="unit").value == 29  # clamped to the smaller model's last unit
    assert any("relu(z) = 0 for every z ≤ 0" in i.value and "sigmoid, tanh or identity" in i.value for i in at.info)
    assert any("no f⁻¹ for this model" in i.value for i in at.info)
    assert any("f⁻¹ undefined at **n/a**" in m.value for m in at.markdown)
