"""The Latent page's Contraction tab (ui/latent/contraction.py) in AppTest: both models' numbers, from
models/analysis/contraction.py on the shipped contractive model and its plain twin, and the chosen image in the
URL."""

from __future__ import annotations

import pytest

from models.analysis.contraction import contraction, contraction_lead, sensitive_directions
from models.analysis.unit_features import neighbour_correlation
from models.checkpoint import load_checkpoint
from tests.app.test_app_latent import CATALOG, VAE2, image_url, open_page
from ui.latent.contraction import CONTRACTION_TAB, shown_directions

PAIR = ("mnist_contractive100", "mnist_untied100")
needs_pair = pytest.mark.skipif(not set(PAIR) <= set(CATALOG), reason="needs the contractive and untied models")


def model(name: str):
    return load_checkpoint(CATALOG[name].path)[0]


def side_lines(at) -> list[str]:
    return [m.value for m in at.markdown if " at this image: ‖J‖_F = " in m.value]


@needs_pair
def test_the_tab_leads_with_both_models_numbers_over_every_held_out_digit(mnist_test):
    at = open_page(VAE2, tab=CONTRACTION_TAB)
    assert at.selectbox(key="cae").value == PAIR[0] and at.selectbox(key="plain").value == PAIR[1]
    cae, plain = (contraction(model(name), mnist_test) for name in PAIR)
    assert cae.mean_frobenius < plain.mean_frobenius / 5  # the penalty did squeeze the shipped model's encoder
    lead = contraction_lead(cae, plain, "held-out digits")
    assert lead.startswith("Over the same 500 held-out digits")
    texts = [m.value for m in at.markdown]
    assert texts.index(lead) < texts.index(side_lines(at)[0])  # the sentence first
    # at the chosen image (the first by default), each model's own ‖J‖_F and σ₁
    for line, name in zip(side_lines(at), PAIR, strict=True):
        found = sensitive_directions(model(name), mnist_test[0])
        assert line.startswith(f"**{CATALOG[name].title}** at this image: ‖J‖_F = **{float(found.values.norm()):.2f}**,"
                               f" σ₁ = **{float(found.values[0]):.2f}**")
        smooth = neighbour_correlation(found.vectors[:4].numpy())
        assert f"Neighbouring pixels of its 4 most followed directions correlate **{smooth:+.2f}**" in line
    assert len(at.get("plotly_chart")) == 1
    assert not any("codes of the 500 held-out images" in c.value for c in at.caption)  # not the sidebar model's


@needs_pair
def test_the_chosen_image_redraws_the_directions_and_goes_in_the_url(mnist_test):
    at = open_page(VAE2, tab=CONTRACTION_TAB)
    title = CATALOG[PAIR[0]].title
    before = image_url(at, f"{title}. ")
    at.number_input(key="squeeze_x").set_value(7).run()
    assert not at.exception
    assert image_url(at, f"{title}. ") != before
    assert at.query_params["x"] == "7"
    shared = open_page(VAE2, tab=CONTRACTION_TAB, x="7")
    assert image_url(shared, f"{title}. ") == image_url(at, f"{title}. ")
    found = sensitive_directions(model(PAIR[0]), mnist_test[7])
    top, bottom = shown_directions(found.nonzero)
    caption = next(i.proto.imgs[0].caption for i in shared.get("image") if i.proto.imgs[0].caption.startswith(title))
    assert f"(σ = {', '.join(f'{float(found.values[i]):.2g}' for i in top)})" in caption
    assert f"(σ = {', '.join(f'{float(found.values[i]):.2g}' for i in bottom)})" in caption


@needs_pair
def test_an_image_number_out_of_range_is_clamped_to_the_last():
    at = open_page(VAE2, tab=CONTRACTION_TAB, x="9999")
    assert at.number_input(key="squeeze_x").value == 499  # clamped to the last held-out image
    assert not at.error


def test_faces_have_no_contractive_model_and_the_tab_says_so():
    if "olivetti_cvae2" not in CATALOG:
        pytest.skip("needs a faces model")
    at = open_page("olivetti_cvae2", tab=CONTRACTION_TAB)
    assert any("No contractive model for this dataset" in i.value for i in at.info)
    assert not at.error
