"""Switching units off on the Features page (ui/features/switch.py) in AppTest: the shown loss and pictures change,
the numbers are models/analysis/unit_switch.py's on the shipped models, and the choices travel in the URL."""

import pytest

from models.analysis.unit_switch import single_unit_costs, switch_units
from tests.app.test_app_features import catalog_model, held_out, run_page, url
from tests.unit.test_feature_pictures import needs_pair

PAIR = dict(left="mnist_tied100", right="mnist_untied100")
STRIP = "rows: input x · as trained · with the units switched"


def switch_lines(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith(("Reconstruction BCE", "Nothing switched yet"))]


def strip_urls(at) -> list[str]:
    return [img.proto.imgs[0].url for img in at.get("image") if STRIP in img.proto.imgs[0].caption]


def expected(name: str, off=(), driven=()):
    return switch_units(catalog_model(name), held_out(), off, driven)


@needs_pair
def test_switching_a_unit_off_changes_the_shown_loss_and_reconstructions():
    at = run_page(**PAIR)
    before = switch_lines(at)
    tied, untied = expected("mnist_tied100"), expected("mnist_untied100")
    assert before == [
        f"Nothing switched yet: the reconstruction BCE per image on all 500 held-out images is "
        f"**{tied.mean_before:.2f}**, the model's own. Pick units above.",
        f"Nothing switched yet: the reconstruction BCE per image on all 500 held-out images is "
        f"**{untied.mean_before:.2f}**, the model's own. Pick units above."]
    pictures, unit_view = strip_urls(at), [img.proto.imgs[0].url for img in at.get("image")][-8:]
    assert len(pictures) == 2

    at.multiselect(key="switch_off").set_value([37]).run()
    assert not at.exception
    lines = switch_lines(at)
    for line, name in zip(lines, PAIR.values()):
        result = expected(name, off=[37])
        assert result.change > 0  # losing a unit costs both models something
        assert line == (f"Reconstruction BCE per image on all 500 held-out images: **{result.mean_before:.2f} → "
                        f"{result.mean_after:.2f} ({result.change:+.2f})**, with unit 37 set to 0.")
    assert all(a != b for a, b in zip(strip_urls(at), pictures))  # both models' switched rows redrawn
    assert [img.proto.imgs[0].url for img in at.get("image")][-8:] == unit_view  # the rest of the page untouched
    assert url(at, "off") == "37"

    at.multiselect(key="switch_off").set_value([]).run()
    assert switch_lines(at) == before and "off" not in at.query_params  # back to the model's own, key gone


@needs_pair
def test_each_model_names_its_costliest_unit_from_the_tested_costs():
    at = run_page(**PAIR)
    captions = [c.value for c in at.caption if c.value.startswith("Switched off alone")]
    for caption, name in zip(captions, PAIR.values(), strict=True):
        costs = single_unit_costs(catalog_model(name), held_out())
        assert caption.startswith(f"Switched off alone, unit {int(costs.argmax())} costs the most: "
                                  f"**{float(costs.max()):+.2f}** BCE per image")


@needs_pair
def test_a_link_opens_with_its_units_and_leaves_out_the_ones_that_do_not_exist():
    at = run_page(**PAIR, off="3,999,x", drive="5")
    assert at.multiselect(key="switch_off").value == [3] and at.multiselect(key="switch_drive").value == [5]
    result = expected("mnist_untied100", off=[3], driven=[5])
    assert switch_lines(at)[1] == (
        f"Reconstruction BCE per image on all 500 held-out images: **{result.mean_before:.2f} → "
        f"{result.mean_after:.2f} ({result.change:+.2f})**, with unit 3 set to 0 and unit 5 set to its held-out "
        f"maximum ({float(result.maxima[5]):.2f}).")
    assert url(at, "off") == "3" and url(at, "drive") == "5"


@needs_pair
def test_a_unit_in_both_lists_is_explained_and_counts_as_off():
    at = run_page(**PAIR, off="4", drive="4,9")
    assert any("Unit 4 is in both lists" in w.value for w in at.warning)
    result = expected("mnist_tied100", off=[4], driven=[9])
    assert switch_lines(at)[0].startswith(f"Reconstruction BCE per image on all 500 held-out images: "
                                          f"**{result.mean_before:.2f} → {result.mean_after:.2f}")
    assert not at.exception and not at.error


@pytest.mark.parametrize("name", ["mnist_tanh_untied100"])
def test_an_mse_model_shows_its_own_loss(name):
    at = run_page(left=name, right="mnist_untied100", off="0")
    result = expected(name, off=[0])
    assert any(m.value.startswith(f"Reconstruction ½‖x−x̂‖² per image on all 500 held-out images: "
                                  f"**{result.mean_before:.2f} → {result.mean_after:.2f}") for m in at.markdown)
