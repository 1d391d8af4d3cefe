"""The Features page on the shipped tanh pair (h = tanh(Wx + b), x̂ = tanh(W′h + b′), ½‖x−x̂‖²): every sentence that
depends on the activation or the loss says what is true for tanh, built from the numbers; the sigmoid pair keeps
its own wording."""

import pytest

from models.analysis.decodings import compare_decodings
from models.analysis.feature_findings import through_g
from models.analysis.reactivation import reactivation
from tests.app.test_app_features import SINGLE, catalog_model, held_out, needs_pair, run_page, texts
from ui.features.plots import VIEWS

TANH = ("mnist_tanh_tied100", "mnist_tanh_untied100")
needs_tanh = pytest.mark.skipif(not set(TANH) <= set(SINGLE), reason="the tanh single-layer pair is not shipped")
SIGMOID_NOTE = "measured on the single sigmoid layer, not on the tanh models picked above."


@pytest.fixture(scope="module")
def tanh_page():
    return run_page(left=TANH[0], right=TANH[1])


@needs_tanh
def test_reactivation_through_g_counts_the_decodes_that_leave_0_1(tanh_page):
    page = texts(tanh_page)
    for name in TANH:
        r = reactivation(catalog_model(name))
        outside = int(((r.learned < 0) | (r.learned > 1)).flatten(1).any(1).sum())
        assert outside > 0  # a tanh decoder draws the background slightly below 0
        assert f"leaves [0, 1] for **{outside} of 100** one-hot codes" in through_g(r)
        assert through_g(r) in page
    assert "is a valid image" not in page


@needs_tanh
def test_the_pseudo_inverse_is_weighed_by_half_squared_error_on_all_500_images(tanh_page):
    page = texts(tanh_page)
    for name in TANH:
        scores = compare_decodings(catalog_model(name), held_out()).scores
        pinv, learned = scores["pinv"], scores["learned"]
        assert pinv.finite_images == learned.finite_images == 500
        assert (f"**{pinv.psnr:.1f} dB** on all 500 held-out images, worse than the learned decoder in PSNR, with a "
                f"higher ½‖x−x̂‖², this model's training loss ({pinv.half_squared:.2f} against "
                f"{learned.half_squared:.2f})") in page
    # findings are one statement each; a table's rows as lines for phones (ui/tables.py) come as one block
    findings = [m.value for m in tanh_page.markdown if m.value.startswith("- **") and "\n" not in m.value]
    assert findings and not any("BCE" in line for line in findings)
    # every figure in (b) is over the same 500 images, or names its subset
    assert all("500" in line for line in findings if " dB" in line)
    assert "Untied single layer, 100 tanh units: ½‖x−x̂‖²" in page


@needs_tanh
def test_the_sigmoid_only_measurements_say_so_next_to_the_tanh_pair(tanh_page):
    page = texts(tanh_page)
    assert f"The numbers in (a) are {SIGMOID_NOTE} Held-out BCE per image" in page
    assert f"stopped improving): This table was {SIGMOID_NOTE}" in page
    label = tanh_page.select_slider(key="soft").label
    assert label == "ε, how far inside f's range the one-hot code moves (tanh: 1 becomes 1 − ε, 0 stays 0)"


@needs_tanh
def test_the_f_inverse_and_decoded_tabs_speak_of_arctanh_and_minus_1_to_1():
    inverse = texts(run_page(left=TANH[0], right=TANH[1], tab=VIEWS["inverse"]))
    assert "tanh: f⁻¹ is arctanh" in inverse and "w′ᵢ + b′ ≤ −1, arctanh → −∞" in inverse
    assert "w′ᵢ + b′ ≥ 1, arctanh → +∞" in inverse and "logit" not in inverse
    decoded = texts(run_page(left=TANH[0], right=TANH[1], tab=VIEWS["decoded"]))
    assert "a tanh's output lies in (−1, 1): its negative values are not valid pixel intensities" in decoded
    assert "always a valid image" not in decoded


@needs_pair
def test_the_sigmoid_pair_keeps_logit_bce_and_no_sigmoid_only_note():
    at = run_page(left="mnist_tied100", right="mnist_untied100", tab=VIEWS["inverse"])
    page = texts(at)
    assert "sigmoid: f⁻¹ is logit; " in page and "w′ᵢ + b′ ≤ 0, logit → −∞" in page and "arctanh" not in page
    assert "measured on the single sigmoid layer" not in page
    assert "BCE, this model's training loss" in page
    assert at.select_slider(key="soft").label.endswith("(sigmoid: 1 becomes 1 − ε, 0 becomes ε)")
