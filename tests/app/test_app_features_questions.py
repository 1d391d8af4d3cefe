"""The Features page's answers in AppTest: (b) every decoding on the same held-out images, (b′) the reactivation
strips, (a) the tied/untied curves and gap table, each figure from the tested function behind it."""

import json

import pytest
import torch
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from tests.app.apptest import app_test
from tests.app.test_app_features import PAGE, SINGLE, catalog_model, held_out, needs_pair, run_page, texts, url
from tests.unit.test_feature_pictures import small_model


def test_a_tanh_model_gets_every_decoding_on_all_held_out_images_and_the_reactivation_answer():
    from models.data import load_dataset  # noqa: PLC0415
    from ui.session_models import TRAINED_KEY, ModelChoice  # noqa: PLC0415

    model = small_model(code_activation="tanh", latent=20, input_shape=(1, 28, 28))
    with torch.no_grad():
        model.to_code.weight.mul_(60)  # some codes reach ±1 exactly, even in float64
    mine = ModelChoice(name="mine", title="My tanh layer", dataset="mnist", model=model, record={},
                       data=load_dataset("mnist", source="bundled"), trained_here=True)
    at = app_test()
    at.session_state[TRAINED_KEY] = {"mine": mine}
    at.query_params.update(left="mine", right=SINGLE[0])
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    rows = decodings_frame(at).loc["My tanh layer"]
    assert list(rows["images scored"]) == ["500 / 500"] * 4 and rows.loc["Wᵀ(f⁻¹(h) − b)", "PSNR (dB)"] != "—"
    heads = [m.value for m in at.markdown if m.value.startswith("Decoding with g: **")]
    assert len(heads) == 2 and all("on all 500 held-out images" in h for h in heads)
    assert "(0 codes clipped" not in heads[0]  # the tanh layer's codes did reach ±1 and were clipped
    assert sum("shows the features:**" in m.value for m in at.markdown) == 2
    assert "f⁻¹ of −1 or 1 is infinite" in texts(at)


# --- (b) the decodings, (b′) reactivation, (a) tied against untied: page numbers from the tested functions -----------
def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def decodings_frame(at: AppTest):
    return next(t.value for t in at.table if list(t.value.index.names) == ["model", "decoding"])


def gap_frame(at: AppTest):
    return next(t.value for t in at.table if list(t.value.index.names) == ["training digits", "units"])


@needs_pair
def test_decoding_table_and_findings_show_compare_decodings_numbers_for_both_models():
    from models.analysis.decodings import compare_decodings  # noqa: PLC0415
    from models.analysis.feature_findings import decoding_findings, decoding_headline, decoding_table  # noqa: PLC0415

    at = run_page(left="mnist_tied100", right="mnist_untied100")
    table = decodings_frame(at)
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
    at = app_test()
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
    at = app_test()
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
