"""The Hidden-unit features page, its pictures (ui/features/plots.py), its sentences (models/analysis/feature_findings.py) and
the per-unit maths (models/analysis/unit_features.py)."""

import json

import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from tests import ROOT
from tests.unit.test_feature_pictures import small_model
from ui.features.plots import TILE_STRETCH, VIEWS

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

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
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
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
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


def test_a_tanh_model_gets_every_decoding_on_all_held_out_images_and_the_reactivation_answer():
    from models.data import load_dataset  # noqa: PLC0415
    from ui.session_models import TRAINED_KEY, ModelChoice  # noqa: PLC0415

    model = small_model(code_activation="tanh", latent=20, input_shape=(1, 28, 28))
    with torch.no_grad():
        model.to_code.weight.mul_(60)  # some codes reach ±1 exactly, even in float64
    mine = ModelChoice(name="mine", title="My tanh layer", dataset="mnist", model=model, record={},
                       data=load_dataset("mnist", source="bundled"), trained_here=True)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[TRAINED_KEY] = {"mine": mine}
    at.query_params.update(left="mine", right=SINGLE[0])
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    rows = at.table[0].value.loc["My tanh layer"]
    assert list(rows["images scored"]) == ["500 / 500"] * 4 and rows.loc["Wᵀ(f⁻¹(h) − b)", "PSNR (dB)"] != "—"
    heads = [m.value for m in at.markdown if m.value.startswith("Decoding with g: **")]
    assert len(heads) == 2 and all("on all 500 held-out images" in h for h in heads)
    assert "(0 codes clipped" not in heads[0]  # the tanh layer's codes did reach ±1 and were clipped
    assert sum("shows the features:**" in m.value for m in at.markdown) == 2
    assert "f⁻¹ of −1 or 1 is infinite" in texts(at)


# --- (b) the decodings, (b′) reactivation, (a) tied against untied: page numbers from the tested functions -----------
def held_out():
    from models.data import load_dataset  # noqa: PLC0415

    return load_dataset("mnist", source="bundled").test


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def gap_frame(at: AppTest):
    return next(t.value for t in at.table if list(t.value.index.names) == ["training digits", "units"])


@needs_pair
def test_decoding_table_and_findings_show_compare_decodings_numbers_for_both_models():
    from models.analysis.decodings import compare_decodings  # noqa: PLC0415
    from models.analysis.feature_findings import decoding_findings, decoding_headline, decoding_table  # noqa: PLC0415

    at = run_page(left="mnist_tied100", right="mnist_untied100")
    table = next(t.value for t in at.table if list(t.value.index.names) == ["model", "decoding"])
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
            assert shown["images scored"] == "500 / 500"  # every decoding on the same 500 images
        # the learned decoder's BCE is the model's own held-out reconstruction loss
        assert float(rows.iloc[0]["BCE"]) == pytest.approx(result.scores["learned"].bce, abs=0.051)
        assert result.scores["transpose"].psnr < 6 < result.scores["learned"].psnr  # what the findings say
        # the section leads with one sentence per model, right under its picture, every figure over all 500
        headline = decoding_headline(result)
        assert "on all 500 held-out images" in headline and "on the same 500" in headline
        assert headline in [m.value for m in at.markdown]
        for line in decoding_findings(result, "sigmoid"):
            assert line in page
    assert "only the learned decoder g(W′h + b′) returned a finite image inside [0, 1]" in page
    # each shown image's share outside W's row space, in the details' caption
    from models.analysis.decodings import outside_row_space_share  # noqa: PLC0415

    tied = catalog_model("mnist_tied100")
    shares = outside_row_space_share(tied.to_code.weight, held_out()[:8])
    assert ", ".join(f"{100 * float(v):.0f}%" for v in shares) in page


@needs_pair
def test_reactivation_eps_redraws_the_strips_goes_in_the_url_and_reports_its_numbers():
    from models.analysis.feature_findings import reactivation_findings, reactivation_headline  # noqa: PLC0415
    from models.analysis.reactivation import reactivation  # noqa: PLC0415

    at = run_page(left="mnist_tied100", right="mnist_untied100", soft="0.1")
    assert at.select_slider(key="soft").value == "0.1"
    tied = catalog_model("mnist_tied100")
    r = reactivation(tied, 0.1)
    assert reactivation_headline(r) in [m.value for m in at.markdown]
    for line in reactivation_findings(r, "sigmoid"):
        assert line in texts(at)
    assert "on = 0.9 (f⁻¹ = 2.20), off = 0.1 (f⁻¹ = -2.20)" in texts(at)

    def strips(marker: str) -> list[str]:
        return [img.proto.imgs[0].url for img in at.get("image") if marker in img.proto.imgs[0].caption]

    before = {marker: strips(marker) for marker in ("first 8 held", "units 0–7")}
    at.select_slider(key="soft").set_value("0.001").run()
    assert not at.exception
    assert url(at, "soft") == "0.001" and "on = 0.999 (f⁻¹ = 6.91)" in texts(at)
    assert len(before["first 8 held"]) == len(before["units 0–7"]) == 2
    assert strips("first 8 held") == before["first 8 held"]  # the decodings strips stay
    after = strips("units 0–7")
    # the reactivation strips change
    assert len(after) == 2 and all(a != b for a, b in zip(after, before["units 0–7"]))


@needs_pair
def test_reactivation_by_default_clips_at_the_edge_eps_and_says_g_shows_the_features():
    at = run_page(left="mnist_tied100", right="mnist_untied100")
    assert at.select_slider(key="soft").value == "1e-06"
    heads = [m.value for m in at.markdown if "shows the features:**" in m.value]
    assert len(heads) == 2 and all(h.startswith("**g shows the features:**") for h in heads)


def test_a_bad_softening_in_the_url_falls_back():
    at = run_page(left=SINGLE[0], right=SINGLE[0], soft="7")
    assert at.select_slider(key="soft").value == "1e-06"


@needs_pair
def test_tied_section_reports_parameters_and_says_when_the_curve_is_not_recorded():
    at = run_page(left="mnist_tied100", right="mnist_untied100")
    page = texts(at)
    assert "(79,284 parameters)" in page and "(157,684 parameters)" in page
    for name in ("mnist_tied100", "mnist_untied100"):
        record = next(e.record for e in load_catalog() if e.name == name)
        recorded = bool(record.get("history"))
        assert ("learning curve is not recorded" in page) or recorded
    histories = [bool(next(e.record for e in load_catalog() if e.name == n).get("history"))
                 for n in ("mnist_tied100", "mnist_untied100")]
    assert len(figures(at)) == 2 * any(histories)  # (a)'s lead on the shipped pair, and the picked models' curves


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
    figure = figures(at)[-1]  # the picked models' curves, after (a)'s lead chart of the shipped pair
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
    names = [trace["name"] for trace in figures(at)[-1]["data"]]
    assert "**bold** [link](http://x) &lt;b&gt;tag&lt;/b&gt;: held-out" in names


def test_gap_table_on_the_page_is_the_shipped_file_or_a_clear_note(tmp_path, monkeypatch):
    from models.analysis import tied_untied  # noqa: PLC0415
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415
    from models.analysis.tied_untied import GapRow, gap_document, load_gap_table  # noqa: PLC0415

    shipped = load_gap_table()
    if shipped is not None:
        at = run_page(left=SINGLE[0], right=SINGLE[0])
        gap = gap_frame(at)
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
    gap = gap_frame(at)
    assert gap.loc[(500, 50), "tied gap"] == "20.0" and gap.loc[(500, 50), "untied gap"] == "35.5"
    assert "Tied has the smaller generalisation gap (held-out − train) in **1 of 1**" in texts(at)

    monkeypatch.setattr(tied_untied, "GAP_FILE", tmp_path / "absent.json")
    at = run_page(left=SINGLE[0], right=SINGLE[0])
    assert any("has not been computed yet" in i.value for i in at.info)
    path.write_text("{broken")
    monkeypatch.setattr(tied_untied, "GAP_FILE", path)
    at = run_page(left=SINGLE[0], right=SINGLE[0])
    assert any("gap.json is unreadable" in i.value for i in at.info) and not at.exception
