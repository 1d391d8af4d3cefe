"""The Hidden-unit features page's leads: question (a) opens on the converged tied/untied pair's held-out losses on
an axis that shows their gap, with the gap table one click away; and the sidebar's Model picker is the left model."""

from streamlit.testing.v1 import AppTest

from tests.app.apptest import app_test
from tests.app.test_app_features import PAGE, catalog_model, held_out, needs_pair, run_page, url
from tests.app.test_app_features_questions import figures

TIED_HEADER = "(a) Why learn W′ instead of tying W′ = Wᵀ?"


@needs_pair
def test_a_leads_with_both_held_out_losses_before_the_gap_table():
    from models.analysis.tied_untied import compare_pair  # noqa: PLC0415

    at = run_page(left="mnist_sparse100", right="mnist_contractive100")  # (a) is the shipped pair whatever is picked
    headers = [h.value for h in at.header]
    assert headers.index(TIED_HEADER) < headers.index("The two models")  # settled first
    pair = compare_pair(catalog_model("mnist_tied100"), catalog_model("mnist_untied100"), held_out())
    first = next(m.value for m in at.markdown if m.value.startswith("Held-out BCE per image"))
    assert first.startswith(f"Held-out BCE per image on the same 500 digits: untied **{pair.untied_loss:.1f}**, "
                            f"tied **{pair.tied_loss:.1f}**.")
    assert f"cuts the loss by **{pair.saving:.1f} per image" in first
    assert "(+78,400 parameters: 157,684 against 79,284)" in first
    # the gap table's findings are details: inside an expander, after the lead
    expanders = [e.label for e in at.expander]
    assert "When does tying help? The gap at several widths and training-set sizes (sigmoid layer)" in expanders
    gap = next(e for e in at.expander if e.label.startswith("When does tying help?"))
    inside = sum(m.value.startswith("- Tied has the smaller generalisation gap") for m in gap.markdown)
    assert inside == 1 == sum(m.value.startswith("- Tied has the smaller") for m in at.markdown)  # none outside it


@needs_pair
def test_the_lead_chart_shows_the_gap_not_zero_to_three_hundred():
    from models.analysis.tied_untied import compare_pair  # noqa: PLC0415

    at = run_page(left="mnist_tied100", right="mnist_untied100")
    lead = figures(at)[0]
    names = [trace["name"] for trace in lead["data"]]
    assert "Tied single layer, 100 sigmoid units: held-out" in names
    assert "Untied single layer, 100 sigmoid units: held-out" in names
    low, high = lead["layout"]["yaxis"]["range"]
    pair = compare_pair(catalog_model("mnist_tied100"), catalog_model("mnist_untied100"), held_out())
    assert 0 < low < pair.untied_loss < pair.tied_loss < high < 150  # not 0–300: the gap is a fifth of the axis
    assert (pair.tied_loss - pair.untied_loss) / (high - low) > 0.2
    kept = sorted(t["text"][0] for t in lead["data"] if "kept epoch" in t["name"])
    assert kept == sorted([f"{pair.untied_loss:.1f}", f"{pair.tied_loss:.1f}"])


def _features_app() -> AppTest:
    at = app_test()
    at.switch_page(PAGE)
    return at.run()


@needs_pair
def test_the_sidebar_model_sets_the_left_model_and_says_so():
    at = _features_app()
    assert at.sidebar.selectbox(key="sidebar_model").value == "mnist_tied100" == at.selectbox(key="left").value
    assert any("sets the **left** model" in c.value for c in at.sidebar.caption)
    at.sidebar.selectbox(key="sidebar_model").set_value("mnist_sparse100").run()
    assert not at.exception
    assert at.selectbox(key="left").value == "mnist_sparse100" and url(at, "left") == "mnist_sparse100"
    at.sidebar.selectbox(key="sidebar_model").set_value("mnist_untied100").run()  # the right side's model
    assert at.selectbox(key="left").value == "mnist_untied100" and at.selectbox(key="right").value != "mnist_untied100"


@needs_pair
def test_a_sidebar_model_without_one_layer_is_explained_and_the_left_picker_sets_the_sidebar():
    at = _features_app()
    at.sidebar.selectbox(key="sidebar_model").set_value("mnist_vae2").run()
    assert not at.exception and at.selectbox(key="left").value == "mnist_tied100"  # kept: no units to picture
    note = next(c.value for c in at.sidebar.caption if "single hidden layer" in c.value)
    assert "Dense VAE, latent 2" in note and "Tied single layer, 100 sigmoid units" in note
    at.selectbox(key="left").set_value("mnist_contractive100").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="sidebar_model").value == "mnist_contractive100"
    assert at.selectbox(key="left").value == "mnist_contractive100"
    assert any("sets the **left** model" in c.value for c in at.sidebar.caption)


@needs_pair
def test_a_link_naming_the_left_model_wins_over_the_sidebar():
    at = run_page(left="mnist_sparse100", right="mnist_untied100")
    assert at.sidebar.selectbox(key="sidebar_model").value == "mnist_tied100"
    assert at.selectbox(key="left").value == "mnist_sparse100"
    assert url(at, "left") == "mnist_sparse100"
