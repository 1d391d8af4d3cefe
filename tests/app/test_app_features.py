"""The Hidden-unit features page, its pictures (ui/features/plots.py), its sentences (models/analysis/feature_findings.py) and
the per-unit maths (models/analysis/unit_features.py)."""

import json
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from models.analysis.unit_features import max_activating_inputs, unit_features
from models.autoencoders import build_model
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.config import ModelConfig
from models.errors import ConfigError
from tests import ROOT
from ui.features.plots import (
    ABOVE_COLOUR,
    BELOW_COLOUR,
    TILE_STRETCH,
    VIEWS,
    config_summary,
    inverse_rgb,
    signed_uint8,
    unit_grid,
)
from ui.pictures import percentile_stretch, to_uint8

PAGE = "pages/features.py"
TAB_PHRASES = {"encoder": "Row i of the encoder W", "decoder": "Column i of the decoder W′",
               "decoded": "The decoder's output for the one-hot code", "inverse": "The same code with f⁻¹",
               "max_input": "x* = wᵢ/‖wᵢ‖"}
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
    # per model: the decodings strip, the reactivation strip and the open tab's grid; then the enlarged unit
    assert len(at.get("image")) == 2 * 3 + ENLARGED
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
    assert len(at.get("image")) == 2 * 3 + ENLARGED  # and one grid per model
    # the weight and decode tiles are stretched over a percentile range now, and the page says so
    explanation = next(m.value for m in at.markdown if m.value.startswith(TAB_PHRASES[view]))
    assert (TILE_STRETCH in explanation) == (view in ("encoder", "decoder", "decoded"))
    captions = [img.proto.imgs[0].caption for img in at.get("image")]
    assert sum(TILE_STRETCH in c for c in captions) == 2  # the two reactivation strips
    assert not any(old in text for text in [texts(at), *captions] for old in ("min…max", "its own range"))


@needs_pair
def test_an_unknown_tab_opens_the_first():
    at = run_page(left="mnist_tied100", right="mnist_untied100", tab="no such tab")
    assert not at.exception and at.session_state["tab"] == VIEWS["encoder"]


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


def test_config_summary_names_tying_and_penalties():
    assert "tied W' = Wᵀ" in config_summary(small_model(tied=True))
    summary = config_summary(small_model(sparsity="kl", sparsity_weight=3, contractive_weight=0.5))
    assert "untied" in summary and "KL sparsity ρ=0.05, weight 3" in summary
    assert "contractive weight 0.5" in summary


def test_a_session_trained_model_without_an_inverse_and_fewer_units_is_explained_not_crashed():
    from models.data import load_dataset  # noqa: PLC0415
    from ui.session_models import TRAINED_KEY, ModelChoice  # noqa: PLC0415

    model = small_model(code_activation="relu", latent=30, input_shape=(1, 28, 28))
    mine = ModelChoice(name="mine", title="My ReLU layer", dataset="mnist", model=model, record={},
                       data=load_dataset("mnist", source="bundled"), trained_here=True)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[TRAINED_KEY] = {"mine": mine}
    at.query_params.update(left=SINGLE[0], right="mine", unit="50", tab=VIEWS["inverse"])
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="right").value == "mine"
    assert at.slider(key="unit").value == 29  # clamped to the smaller model's last unit
    assert any("sigmoid, tanh or identity" in i.value for i in at.info)
    assert any("no f⁻¹ for this model" in i.value for i in at.info)
    assert any("f⁻¹ undefined at **n/a**" in m.value for m in at.markdown)


# --- (b) the decodings, (b′) reactivation, (a) tied against untied: page numbers from the tested functions -----------
def held_out():
    from models.data import load_dataset  # noqa: PLC0415

    return load_dataset("mnist", source="bundled").test


@needs_pair
def test_decoding_table_and_findings_show_compare_decodings_numbers_for_both_models():
    from models.analysis.decodings import compare_decodings  # noqa: PLC0415
    from models.analysis.feature_findings import decoding_findings, decoding_table  # noqa: PLC0415

    at = run_page(left="mnist_tied100", right="mnist_untied100")
    table = at.table[0].value
    page = texts(at)
    for name in ("mnist_tied100", "mnist_untied100"):
        model = catalog_model(name)
        result = compare_decodings(model, held_out())
        title = next(e.title for e in load_catalog() if e.name == name)
        rows = table.loc[title]
        expected = decoding_table(result)
        assert list(rows.index) == [r["decoding"] for r in expected]
        for row in expected:
            shown = rows.loc[row["decoding"]]
            assert all(str(shown[k]) == str(v) for k, v in row.items() if k != "decoding"), row
        # the learned decoder's BCE is the model's own held-out reconstruction loss
        assert float(rows.iloc[0]["BCE"]) == pytest.approx(result.scores["learned"].bce, abs=0.051)
        assert result.scores["transpose"].psnr < 5 < result.scores["learned"].psnr  # what the findings say
        for line in decoding_findings(result, "sigmoid"):
            assert line in page
    assert "only the learned decoder g(W′h + b′) returned a finite image inside [0, 1]" in page
    # each shown image's share outside W's row space, under its pictures
    from models.analysis.decodings import outside_row_space_share  # noqa: PLC0415

    tied = catalog_model("mnist_tied100")
    shares = outside_row_space_share(tied.to_code.weight, held_out()[:8])
    caption = next(img.proto.imgs[0].caption for img in at.get("image") if "outside W's row space" in
                   img.proto.imgs[0].caption)
    assert caption.endswith(", ".join(f"{100 * float(v):.0f}%" for v in shares))


@needs_pair
def test_reactivation_softening_redraws_the_strips_goes_in_the_url_and_reports_its_numbers():
    from models.analysis.decodings import reactivation  # noqa: PLC0415
    from models.analysis.feature_findings import reactivation_findings  # noqa: PLC0415

    at = run_page(left="mnist_tied100", right="mnist_untied100", soft="0.1")
    assert at.select_slider(key="soft").value == "0.1"
    tied = catalog_model("mnist_tied100")
    for line in reactivation_findings(reactivation(tied, 0.1), "sigmoid"):
        assert line in texts(at)
    assert "Softened to 0.9 / 0.1" in texts(at)
    assert "finite for 0 of 100 one-hot codes" in texts(at)
    def strips(marker: str) -> list[str]:
        return [img.proto.imgs[0].url for img in at.get("image") if marker in img.proto.imgs[0].caption]

    before = {marker: strips(marker) for marker in ("first 8 held", "units 0–7")}
    at.select_slider(key="soft").set_value("0.001").run()
    assert not at.exception
    assert url(at, "soft") == "0.001" and "Softened to 0.999 / 0.001" in texts(at)
    assert len(before["first 8 held"]) == len(before["units 0–7"]) == 2
    assert strips("first 8 held") == before["first 8 held"]  # the decodings strips stay
    after = strips("units 0–7")
    # the reactivation strips change
    assert len(after) == 2 and all(a != b for a, b in zip(after, before["units 0–7"]))


def test_a_bad_softening_in_the_url_falls_back():
    at = run_page(left=SINGLE[0], right=SINGLE[0], soft="7")
    assert at.select_slider(key="soft").value == "0.01"


@needs_pair
def test_tied_section_reports_parameters_and_says_when_the_curve_is_not_recorded():
    at = run_page(left="mnist_tied100", right="mnist_untied100")
    page = texts(at)
    assert "(79,284 parameters)" in page and "(157,684 parameters)" in page
    for name in ("mnist_tied100", "mnist_untied100"):
        record = next(e.record for e in load_catalog() if e.name == name)
        recorded = bool(record.get("history"))
        assert ("learning curve is not recorded" in page) or recorded
    charts = [c for c in at.get("plotly_chart")]
    histories = [bool(next(e.record for e in load_catalog() if e.name == n).get("history"))
                 for n in ("mnist_tied100", "mnist_untied100")]
    assert (len(charts) == 1) == any(histories)


def test_a_model_with_a_recorded_history_gets_its_learning_curve_and_kept_epoch():
    from models.data import load_dataset  # noqa: PLC0415
    from ui.session_models import TRAINED_KEY, ModelChoice  # noqa: PLC0415

    history = [{"epoch": e, "train_loss": 200.0 - 10 * e, "heldout_loss": 205.0 - 10 * e + (e == 4) * 30,
                "terms": {}} for e in (1, 2, 3, 4)]
    model = small_model(latent=10, input_shape=(1, 28, 28))
    mine = ModelChoice(name="mine", title="My layer", dataset="mnist", model=model,
                       record={"history": history, "best_epoch": 3, "epochs": 4},
                       data=load_dataset("mnist", source="bundled"), trained_here=True)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[TRAINED_KEY] = {"mine": mine}
    at.query_params.update(left="mine", right="mine")
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    assert "**My layer** (16,474 parameters): kept epoch 3 of 4, train 170.0 / held-out 175.0." in texts(at)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace["name"] for trace in figure["data"]]
    assert "My layer: held-out" in names and "My layer: kept epoch 3" in names


def test_a_title_with_markdown_and_html_is_shown_as_written():
    from models.data import load_dataset  # noqa: PLC0415
    from ui.messages import escape_md  # noqa: PLC0415
    from ui.session_models import TRAINED_KEY, ModelChoice

    title = "**bold** [link](http://x) <b>tag</b>"
    history = [{"epoch": 1, "train_loss": 9.0, "heldout_loss": 10.0, "terms": {}}]
    mine = ModelChoice(name="mine", title=title, dataset="mnist", model=small_model(latent=5, input_shape=(1, 28, 28)),
                       record={"history": history, "best_epoch": 1}, data=load_dataset("mnist", source="bundled"),
                       trained_here=True)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[TRAINED_KEY] = {"mine": mine}
    at.query_params.update(left="mine", right="mine")
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    assert f"**{escape_md(title)}**" in [m.value for m in at.markdown]
    assert any(m.value.startswith(f"**{escape_md(title)}** (") for m in at.markdown)  # the curve summary
    names = [trace["name"] for trace in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]
    assert "**bold** [link](http://x) &lt;b&gt;tag&lt;/b&gt;: held-out" in names


def test_gap_table_on_the_page_is_the_shipped_file_or_a_clear_note(tmp_path, monkeypatch):
    from models.analysis import tied_untied  # noqa: PLC0415
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415
    from models.analysis.tied_untied import GapRow, gap_document, load_gap_table  # noqa: PLC0415

    shipped = load_gap_table()
    if shipped is not None:
        at = run_page(left=SINGLE[0], right=SINGLE[0])
        gap = at.table[-1].value
        assert len(gap) == len(shipped.pairs())
        for tied, untied in shipped.pairs():
            row = gap.loc[(tied.train_size, tied.width)]
            assert (row["tied gap"], row["untied gap"]) == (f"{tied.gap:.1f}", f"{untied.gap:.1f}")
            assert row["tied: train / held-out"] == f"{tied.train_loss:.1f} / {tied.heldout_loss:.1f}"
        for line in gap_findings(shipped):
            assert line in texts(at)

    rows = [GapRow(50, 500, True, 39284, 90.0, 110.0, 5, 9), GapRow(50, 500, False, 78534, 80.0, 115.5, 7, 9)]
    path = tmp_path / "gap.json"
    path.write_text(json.dumps(gap_document(rows, {"lr": 0.003, "patience": 20, "command": "x"})))
    monkeypatch.setattr(tied_untied, "GAP_FILE", path)
    at = run_page(left=SINGLE[0], right=SINGLE[0])
    gap = at.table[-1].value
    assert gap.loc[(500, 50), "tied gap"] == "20.0" and gap.loc[(500, 50), "untied gap"] == "35.5"
    assert "Tied has the smaller generalisation gap (held-out − train) in **1 of 1**" in texts(at)

    monkeypatch.setattr(tied_untied, "GAP_FILE", tmp_path / "absent.json")
    at = run_page(left=SINGLE[0], right=SINGLE[0])
    assert any("has not been computed yet" in i.value for i in at.info)
    path.write_text("{broken")
    monkeypatch.setattr(tied_untied, "GAP_FILE", path)
    at = run_page(left=SINGLE[0], right=SINGLE[0])
    assert any("gap.json is unreadable" in i.value for i in at.info) and not at.exception


# --- the sentences, against the numbers they are built from -----------------------------------------------------------
def _pair_table(gaps, seed=0, rows=None):
    """A GapTable from (size, width, tied train, tied held-out, untied train, untied held-out) tuples."""
    from models.analysis.tied_untied import GapRow, GapTable  # noqa: PLC0415

    rows = list(rows or [])
    for size, width, tt, th, ut, uh in gaps:
        rows += [GapRow(width, size, True, 1, tt, th, 1, 1, seed), GapRow(width, size, False, 2, ut, uh, 1, 1, seed)]
    return GapTable(rows=rows, recipe={"seed": 0})


@pytest.mark.parametrize(("gaps", "verdict"), [
    ([(4500, 50, 100, 102, 90, 104), (500, 50, 90, 100, 80, 105)], "acts as a regulariser"),
    ([(4500, 50, 100, 102, 60, 65), (500, 50, 90, 100, 70, 95)], "a narrower gap is not a better model"),
    ([(4500, 50, 100, 110, 60, 65), (500, 50, 90, 120, 70, 95)], "do not support"),
    ([(4500, 50, 100, 102, 60, 65), (500, 50, 90, 120, 70, 95)], "acts as a regulariser only with 4,500 training"),
    ([(4500, 50, 100, 102, 60, 65), (4500, 100, 90, 120, 70, 95)], "mixed"),
])
def test_gap_findings_follow_the_numbers(gaps, verdict):
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    lines = gap_findings(_pair_table(gaps))
    assert verdict in lines[-1]
    smaller = sum((th - tt) < (uh - ut) for _, _, tt, th, ut, uh in gaps)
    assert f"in **{smaller} of 2** settings" in lines[0]
    assert "With 4,500 training digits the gaps are 50 units: tied" in lines[1]


def test_gap_findings_measure_the_seed_to_seed_spread_and_count_clear_differences():
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    main = _pair_table([(4500, 50, 100, 102, 60, 65), (500, 50, 90, 100, 80, 95)])  # untied − tied: 3 and 5
    repeat = _pair_table([(500, 50, 90, 101, 80, 92)], seed=1, rows=main.rows)  # seed 1: 1
    text = "\n".join(gap_findings(repeat))
    assert "retrained with seeds 0, 1, the 500-digit, 50-unit pair's untied − tied gap runs from 1.0 to 5.0, " \
           "a spread of 4.0" in text
    assert "1 of 2 settings differ in gap by more than that spread" in text  # 5 > 4, 3 < 4
    assert "Seed to seed" not in "\n".join(gap_findings(main))


def test_the_size_split_verdict_says_how_many_differences_beat_the_seed_spread():
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    # 4,500 digits: untied narrower at both widths; 500: tied narrower by 6 and by 1; seeds spread 3 at (500, 50)
    main = _pair_table([(4500, 50, 100, 105, 60, 62), (4500, 100, 100, 104, 60, 63),
                        (500, 50, 90, 110, 80, 106), (500, 100, 90, 100, 80, 91)])
    table = _pair_table([(500, 50, 90, 110, 80, 103)], seed=1, rows=main.rows)
    verdict = gap_findings(table)[-1]
    assert verdict.startswith("**So:** tying acts as a regulariser only with 500 training digits, where it narrows "
                              "the gap at every width (by more than the seed-to-seed spread at 1 of 2 widths); "
                              "with 4,500 the untied model has the smaller gap at every width.")


def test_gap_findings_say_whether_a_smaller_training_set_widens_the_gap():
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415

    grows = gap_findings(_pair_table([(4500, 50, 100, 102, 90, 94), (500, 50, 90, 100, 80, 100)]))
    assert "from 4,500 to 500 digits grows the mean gap (3.0 → 15.0)" in "\n".join(grows)
    shrinks = gap_findings(_pair_table([(4500, 50, 100, 120, 90, 110), (500, 50, 90, 92, 80, 82)]))
    assert "does not grow the mean gap (20.0 → 2.0)" in "\n".join(shrinks)


def test_decoding_sentences_and_table_use_the_scores():
    from models.analysis.decodings import compare_decodings  # noqa: PLC0415
    from models.analysis.feature_findings import decoding_findings, decoding_table, decoding_verdict  # noqa: PLC0415

    model = small_model(latent=3, input_shape=(1, 4, 4))
    with torch.no_grad():
        model.to_code.weight.mul_(40)  # saturates some codes in float32
    result = compare_decodings(model, torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(0)))
    rows = {r["decoding"]: r for r in decoding_table(result)}
    transpose = result.scores["transpose"]
    assert rows["Wᵀ(f⁻¹(h) − b)"]["inf/NaN images"] == f"{transpose.nonfinite_images} / 30"
    assert rows["Wᵀ(f⁻¹(h) − b)"]["PSNR (dB)"] == ("—" if transpose.psnr is None else f"{transpose.psnr:.1f}")
    text = "\n".join(decoding_findings(result, "sigmoid"))
    sat = result.scores["learned"].saturated_codes
    assert sat > 0 and f"{sat} of 30 codes have a unit that rounds to exactly 0 or 1" in text
    assert f"W⁺(f⁻¹(h) − b) gives {result.scores['pinv'].nonfinite_images}" in text
    assert f"{100 * float(result.outside_share.mean()):.1f}%" in text
    assert "only the learned decoder" in decoding_verdict([result])


def test_curve_summary_without_history_says_it_is_not_recorded():
    from models.analysis.feature_findings import curve_summary  # noqa: PLC0415
    from models.analysis.tied_untied import Curve  # noqa: PLC0415

    assert "not recorded" in curve_summary("T", {"epochs": 40}, None, 10) and "ran 40 epochs" in \
        curve_summary("T", {"epochs": 40}, None, 10)
    curve = Curve(epochs=[1, 2], train=[5.0, 4.0], heldout=[6.0, 6.5], best_epoch=None)
    expected = "**T** (1,234 parameters): last epoch 2 of 2, train 4.0 / held-out 6.5."
    assert curve_summary("T", {}, curve, 1234) == expected


# --- the new pictures -------------------------------------------------------------------------------------------------
def test_painted_rgb_clips_finite_pixels_and_paints_inf_and_nan():
    from ui.features.plots import NAN_COLOUR, painted_rgb  # noqa: PLC0415

    values = np.array([[[[-3.0, 0.5, 2.0, np.inf, -np.inf, np.nan]]]])
    rgb = painted_rgb(values)
    assert rgb.shape == (1, 1, 6, 3)
    assert [tuple(p) for p in rgb[0, 0]] == [(0, 0, 0), (128, 128, 128), (255, 255, 255), ABOVE_COLOUR,
                                               BELOW_COLOUR, NAN_COLOUR]
    stretched = painted_rgb(np.array([[[[10.0, 20.0, np.nan]]]]), stretch=True)
    assert [tuple(p) for p in stretched[0, 0]] == [(0, 0, 0), (255, 255, 255), NAN_COLOUR]


def test_rgb_rows_stacks_rows_and_enlarges():
    from ui.features.plots import rgb_rows  # noqa: PLC0415

    rows = [np.zeros((10, 28, 28, 3), dtype=np.uint8), np.full((10, 28, 28, 3), 255, dtype=np.uint8)]
    picture = rgb_rows(rows, per_row=4, target=240)
    assert picture.shape == (2 * (2 * 28 + 2), 2 * (4 * 30 - 2), 3)  # 2 rows of 4, zoomed ×2
    assert picture[0, 0].tolist() == [0, 0, 0] and picture[-1, -1].tolist() == [255, 255, 255]


# --- the percentile stretch of weight and decode tiles (ui/pictures.py) ---------------------------------------------
def _outlier_tile() -> np.ndarray:
    """A 28×28 tile whose values run smoothly over −1…1, with one border pixel 50 times larger."""
    y, x = np.mgrid[0:28, 0:28] / 27.0
    tile = np.sin(6 * x) * np.cos(4 * y)
    tile[0, 0] = 50.0
    return tile


def test_percentile_stretch_keeps_the_interior_spread_despite_one_huge_outlier():
    tile = _outlier_tile()
    inside = (slice(3, 25), slice(3, 25))
    min_max = to_uint8(tile, normalise=True)
    robust = to_uint8(tile, normalise="percentile")
    assert min_max.dtype == robust.dtype == np.uint8 and robust.shape == (28, 28)
    # min…max: the outlier sets the scale and the interior is squeezed into a few grey levels around 0 …
    assert min_max[0, 0] == 255 and int(np.ptp(min_max[inside])) < 12
    # … the 1st–99th percentile stretch clips the outlier and spreads the interior over most of 0…255
    assert robust[0, 0] == 255 and int(np.ptp(robust[inside])) > 200
    assert robust[inside].astype(float).std() > 5 * min_max[inside].astype(float).std()
    assert TILE_STRETCH == "its own 1st–99th percentile"


def test_percentile_stretch_is_per_tile_and_scale_free():
    tile = _outlier_tile()
    batch = np.stack([tile, 1000.0 * tile - 7.0, -tile])[:, None]  # N×1×H×W, as the grids pass them
    pictures = to_uint8(batch, normalise="percentile")
    assert pictures.shape == (3, 28, 28)
    assert np.array_equal(pictures[0], pictures[1])  # each tile its own scale and offset
    assert np.abs(pictures[2].astype(int) + pictures[0] - 255).max() <= 1  # a negated tile is the negative
    assert to_uint8(tile, normalise="percentile", percentile=0.0).tolist() == to_uint8(tile, normalise=True).tolist()


@pytest.mark.parametrize("value", [0.0, 3.5, -1e6])
def test_percentile_stretch_of_a_constant_tile_is_flat_mid_grey_without_dividing_by_zero(value):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "divide by zero" or "invalid value" on the way
        picture = to_uint8(np.full((2, 1, 28, 28), value, dtype=np.float32), normalise="percentile")
    assert picture.shape == (2, 28, 28) and (picture == 128).all()


def test_percentile_stretch_survives_nan_and_inf():
    tile = _outlier_tile()
    tile[5, 5], tile[6, 6], tile[7, 7] = np.nan, np.inf, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        picture = to_uint8(tile, normalise="percentile")
        empty = to_uint8(np.full((28, 28), np.nan), normalise="percentile")  # no finite pixel at all
        stretched = percentile_stretch(np.array([[[np.inf, -np.inf], [np.nan, np.nan]]]))
    assert picture.dtype == np.uint8
    assert picture[5, 5] == 0 and picture[6, 6] == 255 and picture[7, 7] == 0  # NaN black, ±inf the extremes
    assert int(np.ptp(picture[10:20, 10:20])) > 200  # the finite pixels keep their percentile scale
    assert (empty == 0).all()
    assert stretched[0, 0, 0] == 1.0 and stretched[0, 0, 1] == 0.0 and np.isnan(stretched[0, 1]).all()


def test_to_uint8_keeps_min_max_by_default_and_refuses_an_unknown_stretch():
    tile = _outlier_tile()
    assert to_uint8(tile, normalise=True).min() == 0 and to_uint8(tile, normalise=True).max() == 255
    assert to_uint8(np.array([[0.0, 0.5, 2.0]])).tolist() == [[0, 128, 255]]  # no stretch: clipped to [0, 1]
    with pytest.raises(ValueError, match="percentile"):
        to_uint8(tile, normalise="robust")


def test_painted_rgb_stretch_clips_a_finite_outlier_and_still_paints_non_finite_pixels():
    from ui.features.plots import painted_rgb  # noqa: PLC0415

    tile = _outlier_tile()
    tile[7, 7] = np.inf
    rgb = painted_rgb(tile[None, None], stretch=True)
    assert tuple(rgb[0, 7, 7]) == ABOVE_COLOUR and tuple(rgb[0, 0, 0]) == (255, 255, 255)
    assert int(np.ptp(rgb[0, 10:20, 10:20, 0])) > 200


@needs_pair
def test_untied_encoder_rows_get_more_interior_contrast_than_with_min_max():
    """The converged untied model grew large weights on the rarely lit border pixels: with min…max its encoder
    tiles were flat grey inside; the percentile stretch gives the centre 22×22 pixels a real spread."""
    weights = catalog_model("mnist_untied100").to_code.weight.detach().reshape(-1, 1, 28, 28)
    inside = (slice(None), slice(3, 25), slice(3, 25))
    min_max = to_uint8(weights, normalise=True)[inside].reshape(len(weights), -1).astype(float).std(1)
    robust = to_uint8(weights, normalise="percentile")[inside].reshape(len(weights), -1).astype(float).std(1)
    assert np.median(robust) > 1.5 * np.median(min_max)
    assert (robust >= min_max - 1).all()  # no tile loses contrast
