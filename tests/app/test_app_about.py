"""The About / lesson page: it runs, shows the formulas as LaTeX, and links every kind to a page that shows it."""

from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from tests import ROOT
from tests.app.apptest import app_test
from ui.features.plots import VIEWS as FEATURE_VIEWS

KINDS = ["Undercomplete", "Overcomplete", "Deep", "Denoising", "Sparse", "Contractive", "Convolutional",
         "Variational"]
PAGE_FILES = {"reconstructions", "denoising", "features", "latent", "train"}


@pytest.fixture(scope="module")
def at() -> AppTest:
    app = app_test()
    app.switch_page("pages/about.py")
    app.run()
    assert not app.exception, app.exception
    return app


def latex(at: AppTest) -> list[str]:
    return [block.value.strip("$\n") for block in at.latex]  # st.latex wraps the body in $$…$$


def test_notation_and_losses_are_latex(at):
    blocks = latex(at)
    assert r"h = f(Wx + b)" in blocks and r"\hat x = g(W'h + b')" in blocks and r"W' = W^\top" in blocks
    bce = [b for b in blocks if r"x_k \log \hat x_k" in b]
    assert len(bce) == 1 and r"(1 - x_k)\log(1 - \hat x_k)" in bce[0]
    assert any(r"\tfrac12\,\lVert x - \hat x\rVert^2" in b for b in blocks)  # MSE
    assert any(r"\frac1N \sum_{n=1}^{N}" in b for b in blocks)  # averaged over samples


def test_penalties_and_vae_formulas_are_latex(at):
    blocks = "\n".join(latex(at))
    assert r"\lambda \sum_j \lvert h_j \rvert" in blocks  # L1 sparsity
    assert r"\mathrm{KL}(\rho \,\Vert\, \hat\rho_j)" in blocks  # KL sparsity
    assert r"\Big(\frac{\partial h_j}{\partial x_i}\Big)^2" in blocks  # contractive
    assert r"\big(h_j(1-h_j)\big)^2 \,\lVert W_j \rVert^2" in blocks  # its sigmoid closed form
    assert r"1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2" in blocks  # Gaussian KL
    assert r"z = \mu + \sigma \odot \varepsilon" in blocks  # reparameterisation
    assert r"\operatorname{logit}(y) = \log\frac{y}{1-y}" in blocks


def test_the_two_questions_are_answered(at):
    headings = [h.value for h in at.subheader]
    assert any("untied" in h for h in headings) and any("f⁻¹" in h for h in headings)
    assert any(r"x' = W^\top\big(f^{-1}(h) - b\big)" in b for b in latex(at))  # the question's own formula


def _shipped_pair():
    names = {entry.name for entry in load_catalog()}
    if not {"mnist_tied100", "mnist_untied100"} <= names:
        pytest.skip("the tied/untied single-layer models are not in the catalog yet")
    from models.checkpoint import load_checkpoint  # noqa: PLC0415

    return [load_checkpoint(ROOT / "pretrained" / name)[0] for name in ("mnist_tied100", "mnist_untied100")]


def test_the_inverse_answer_quotes_the_shipped_tied_models_numbers(at):
    from models.analysis.decodings import compare_decodings  # noqa: PLC0415
    from models.analysis.feature_findings import decoding_headline  # noqa: PLC0415
    from models.data import load_dataset  # noqa: PLC0415

    tied, _ = _shipped_pair()
    d = compare_decodings(tied, load_dataset("mnist", source="bundled").test)
    s = d.scores
    text = "\n".join(m.value for m in at.markdown)
    # the Features page's sentence, word for word: every figure over all 500 held-out images
    assert f"**Measured on the shipped tied model.** {decoding_headline(d)}" in text
    assert "on all 500 held-out images" in decoding_headline(d) and " of 500 held-out images that came" not in text
    assert f"({s['pinv'].psnr:.1f} against {s['learned'].psnr:.1f} dB)" in text
    assert f"{100 * float(d.outside_share.mean()):.1f}% of an average image (over all 500) lies outside" in text
    assert (f"in float32, {d.float32_saturated} of 500 codes have a unit at exactly 0 or 1; in float64, "
            f"{d.code_clipped_images} of 500 still have a unit within ε = 1e-06") in text
    assert d.float32_saturated > 0  # the reason for float64 and ε, on the shipped model
    assert f"at {100 * s['output_inverse'].clipped_values / d.x.numel():.1f}% of pixels" in text


def test_the_tied_answer_counts_parameters_and_quotes_the_gap_table(at):
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415
    from models.analysis.tied_untied import load_gap_table, parameter_count  # noqa: PLC0415

    tied, untied = _shipped_pair()
    text = "\n".join(m.value for m in at.markdown)
    assert f"tied model has {parameter_count(tied):,} parameters, the untied one {parameter_count(untied):,}" in text
    table = load_gap_table()
    if table is not None:
        findings = gap_findings(table)
        assert findings[0] in text and findings[-1] in text


def test_every_kind_has_a_card_with_a_link_to_a_page(at):
    titles = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert [t.split(" ", 2)[2] for t in titles] == KINDS
    links = at.page_link
    lesson_links = [link for link in links if link.proto.label.startswith(("**Step ", "Back: ", "Next: "))]
    assert len(links) == len(KINDS) + 3 + len(lesson_links)  # + the two questions' links, + the lesson plan's
    assert {link.proto.page for link in links} <= PAGE_FILES
    assert all(link.proto.label for link in links)


def test_kind_links_open_catalog_models_that_exist(at):
    available = {entry.name for entry in load_catalog()}
    for link in at.page_link:
        query = parse_qs(link.proto.query_string)
        for key, values in query.items():
            if key != "tab":  # every other parameter names a model
                assert set(values) <= available, (link.proto.label, values)
    by_label = {link.proto.label: link.proto for link in at.page_link}
    sparse = by_label["Compare sparse features"]
    assert sparse.page == "features"
    if "mnist_sparse100" in available:
        assert parse_qs(sparse.query_string)["left"] == ["mnist_sparse100"]
        # the strokes the card promises are in the decoder columns, not in the encoder rows
        assert parse_qs(sparse.query_string)["tab"] == [FEATURE_VIEWS["decoder"]]
        assert parse_qs(sparse.query_string)["model"] == ["mnist_sparse100"]  # the sidebar shows the left model


def test_the_tied_answer_leads_with_both_held_out_losses_and_keeps_the_gap_table_one_click_away(at):
    from models.analysis.feature_findings import gap_findings  # noqa: PLC0415
    from models.analysis.tied_untied import compare_pair, load_gap_table  # noqa: PLC0415
    from models.data import load_dataset  # noqa: PLC0415

    tied, untied = _shipped_pair()
    pair = compare_pair(tied, untied, load_dataset("mnist", source="bundled").test)
    facts = [m.value for m in at.markdown if m.value.startswith("- **Measured:**")]
    assert len(facts) == 1
    assert facts[0].startswith(f"- **Measured:** Held-out BCE per image on the same 500 digits: untied "
                               f"**{pair.untied_loss:.1f}**, tied **{pair.tied_loss:.1f}**.")
    table = load_gap_table()
    if table is not None:
        details = next(e for e in at.expander if e.label.startswith("When does tying help?"))
        inside = [m.value for m in details.markdown]
        assert f"- {gap_findings(table)[0]}" in inside and f"- {gap_findings(table)[-1]}" in inside
        assert sum(m.value == f"- {gap_findings(table)[-1]}" for m in at.markdown) == 1  # only there


def test_tied_untied_note_reports_the_shipped_models_numbers(at):
    from models.analysis.tied_untied import learning_curve  # noqa: PLC0415

    entries = {entry.name: entry for entry in load_catalog()}
    if not {"mnist_tied100", "mnist_untied100"} <= set(entries):
        pytest.skip("the tied/untied single-layer models are not in the catalog yet")
    tied, untied = entries["mnist_tied100"].record, entries["mnist_untied100"].record
    notes = [i.value for i in at.info if "BCE per image, train / held-out" in i.value]
    assert len(notes) == 1
    assert f"tied {tied['final_train_loss']:.1f} / {tied['final_heldout_loss']:.1f}" in notes[0]
    assert f"untied {untied['final_train_loss']:.1f} / {untied['final_heldout_loss']:.1f}" in notes[0]
    assert ("The **tied** one reconstructs" in notes[0]) == (tied["final_heldout_loss"] < untied["final_heldout_loss"])
    # whether it claims convergence follows the records: only with a history and a kept epoch for both
    converged = all(c is not None and c.best_epoch is not None for c in map(learning_curve, (tied, untied)))
    assert ("stopped improving" in notes[0]) == converged
    assert ("do not show that training had converged" in notes[0]) == (not converged)


def _about(app: AppTest) -> AppTest:
    app.query_params = {}
    app.switch_page("pages/about.py")
    return app.run()


def test_every_link_opens_what_it_names_in_a_session_that_picked_another_model():
    """A link is followed in a session whose sidebar already holds a model (the bug: the sidebar's session state
    won over ?model=, and the URL was rewritten to it). Each page must show the link's models and tab."""
    app = app_test()
    app.run()
    app.switch_page("pages/latent.py")
    app.run()
    app.sidebar.selectbox(key="sidebar_model").set_value("mnist_vae16").run()  # picked by hand
    links = [(link.proto.page, link.proto.label, link.proto.query_string) for link in _about(app).page_link]
    assert links
    for page, label, query_string in links:
        query = {k: v[0] for k, v in parse_qs(query_string).items()}
        app.query_params = dict(query)
        app.switch_page(f"pages/{page}.py")
        app.run()
        assert not app.exception, (label, app.exception)
        if "model" in query:
            assert app.sidebar.selectbox(key="sidebar_model").value == query["model"], label
            assert app.query_params["model"] == query["model"], label  # the URL keeps the link's model
        for key in ("left", "right"):
            if key in query:
                assert app.selectbox(key=key).value == query[key], label
        if page == "features":  # the tab the link names opens (the decoder columns when it names none)
            assert app.session_state["tab"] == query.get("tab", FEATURE_VIEWS["decoder"]), label
        if query.get("tab") == "f⁻¹ at the output":  # the tab opens, and only its content is drawn
            text = "\n".join(m.value for m in app.markdown)
            assert "f⁻¹ undefined at **" in text and "Row i of the encoder W" not in text, label
        if query.get("tab") == FEATURE_VIEWS["decoder"]:
            text = "\n".join(m.value for m in app.markdown)
            assert "Column i of the decoder W′" in text and "Row i of the encoder W" not in text, label
        _about(app)
