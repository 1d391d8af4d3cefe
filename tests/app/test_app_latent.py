"""The Latent manifold page in AppTest: every shipped model, live sliders, shared links, selection, samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.decoder_program import decoder_program
from tests.app.apptest import app_test
from ui.latent_plane.payload import unpack

CATALOG = {entry.name: entry for entry in load_catalog()}
VAE2 = "mnist_vae2"
AE2 = "mnist_ae2"
needs = pytest.mark.skipif


INTERPOLATION, SAMPLES, HOLES = "Interpolation", "Samples from the prior", "Holes: AE vs VAE"


def open_page(model: str, tab: str | None = None, **params: str) -> AppTest:
    """The Latent manifold page for `model` (on `tab`, else the Manifold tab) with extra URL query parameters,
    as a shared link would open it."""
    at = app_test()
    at.query_params["model"] = model
    if tab is not None:
        at.query_params["tab"] = tab
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/latent.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Latent manifold"
    assert at.sidebar.selectbox(key="sidebar_model").value == model  # drawn through app.py, on this model
    return at


def image_url(at: AppTest, caption_start: str) -> str:
    """The media URL of the one image whose caption starts with `caption_start` (it changes with the pixels)."""
    found = [image.proto.imgs[0].url for image in at.get("image") if image.captions[0].startswith(caption_start)]
    assert len(found) == 1, [image.captions[0][:50] for image in at.get("image")]
    return found[0]


def captions(at: AppTest) -> list[str]:
    """Every image's caption and every line of st.caption (a pinned z's nearest image is a line of text where
    the plane shows the picture)."""
    return [image.captions[0] for image in at.get("image")] + [caption.value for caption in at.caption]


def caption_of(at: AppTest, caption_start: str) -> str:
    return next(text for text in captions(at) if text.startswith(caption_start))


def component(at: AppTest, key: str):
    found = [element for element in at.get("bidi_component") if element.key == key]
    assert len(found) == 1, [element.key for element in at.get("bidi_component")]
    return found[0]


def bridge_data(at: AppTest, key: str) -> dict:
    return json.loads(json.loads(component(at, key).proto.json)["view"])


def pin(at: AppTest, bridge_key: str, value) -> AppTest:
    """What a click on a plane sends: the bridge's "pin" trigger (AppTest has no browser, so send the trigger the
    way the browser does, under the bridge's trigger widget id, along with every other widget's state)."""
    return trigger(at, bridge_key, "pin", value)


def trigger(at: AppTest, bridge_key: str, event: str, value) -> AppTest:
    """What the browser sends through a plane's bridge: the trigger `event` with `value`."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = _make_trigger_id(component(at, bridge_key).proto.id, "events")
    state.json_trigger_value = json.dumps([{"event": event, "value": value}])
    at._run(states)
    assert not at.exception, at.exception
    return at


# --- every shipped model ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CATALOG))
def test_page_runs_for_every_catalog_model(name):
    at = open_page(name)
    assert not at.error, [e.value for e in at.error]
    latent = CATALOG[name].latent
    keys = {slider.key for slider in at.slider}
    if latent == 2:
        assert {"z1", "z2", "grid"} <= keys
        bridge = "bridge_manifold"
    else:
        assert {f"pc{k}" for k in range(1, min(4, latent) + 1)} <= keys
        bridge = "bridge_pca"
    header, weights = unpack(component(at, f"plane_{'manifold' if latent == 2 else 'pca'}").proto.bytes)
    assert header["id"] == bridge_data(at, bridge)["plane"]  # the bridge talks to this plane
    model = load_checkpoint(CATALOG[name].path)[0]
    assert np.array_equal(weights["weights"], decoder_program(model).weights)  # the model's own decoder
    assert header["count"] == 500 if CATALOG[name].dataset == "mnist" else header["count"] > 0
    assert caption_of(at, "Nearest to the pinned z = (").split(": ", 1)[1].startswith("held-out #")
    interpolation = open_page(name, tab=INTERPOLATION)
    image_url(interpolation, "A: held-out #0")
    assert interpolation.number_input(key="a").value == 0 and interpolation.number_input(key="b").value == 1


def test_only_the_open_tab_runs():
    at = open_page(VAE2)
    assert {s.key for s in at.slider} == {"z1", "z2", "grid"}
    assert not [n for n in at.number_input if n.key in ("a", "b")]
    at = open_page(VAE2, tab=INTERPOLATION)
    assert {s.key for s in at.slider} == {"steps"}
    assert {c.key for c in at.get("bidi_component")} == {"plane_interp", "bridge_interp"}  # its own plane only


# --- a 2-D latent: the plane, its pins, the sliders and shared links ---------------------------------------------
@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_the_manifold_tab_opens_with_one_sentence_and_shows_the_nearest_image_once():
    at = open_page(VAE2)
    sentence = at.main.markdown[0].value
    assert sentence.startswith("Each dot is the code z of one of **500 held-out images**; point at the plane")
    assert len(sentence) < 140  # two lines at most over the plane, not a paragraph (the browser test counts them)
    header, arrays = unpack(component(at, "plane_manifold").proto.bytes)
    assert arrays["thumbs"].size == 500 * 28 * 28  # the plane shows the nearest held-out image itself …
    assert not [image for image in at.get("image") if "Nearest" in image.captions[0]]  # … so the server does not
    assert [c.value for c in at.caption if c.value.startswith("Nearest to the pinned z = (0.00, 0.00): ")]
    about = [e for e in at.expander if e.label.startswith("About this plane")]
    assert len(about) == 1 and "posterior means μ(x)" in about[0].markdown[0].value


@needs("mnist_vae16" not in CATALOG, reason="needs mnist_vae16")
def test_a_wide_code_opens_with_the_share_of_variance_its_plane_shows(mnist_test):
    from models.analysis.latent import principal_directions

    codes = load_checkpoint(CATALOG["mnist_vae16"].path)[0].embed(mnist_test)
    share = float(principal_directions(codes, 4).explained[:2].sum())
    sentence = open_page("mnist_vae16").main.markdown[0].value
    assert sentence.startswith(f"Each dot is one of **500 held-out 16-D codes**, on their top two principal "
                               f"directions ({share:.0%} of their variance); point at the plane")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_the_plane_spans_the_sliders_and_outlines_the_grid():
    at = open_page(VAE2)
    plane = unpack(component(at, "plane_manifold").proto.bytes)[0]["plane"]
    z1, z2 = at.slider(key="z1"), at.slider(key="z2")
    assert plane["bounds"] == [z1.min, z1.max, z2.min, z2.max]
    x0, x1, y0, y1 = plane["grid"]
    assert x0 == pytest.approx(-1.645, abs=1e-3) and x1 == pytest.approx(1.645, abs=1e-3)  # N(0,1) at 5% and 95%
    assert plane["mode"] == "latent" and plane["start"] == [0.0, 0.0]


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_moving_z1_moves_the_pin_the_nearest_image_and_the_url(mnist_test):
    codes = load_checkpoint(CATALOG[VAE2].path)[0].embed(mnist_test)
    at = open_page(VAE2)
    at.slider(key="z1").set_value(1.5).run()
    assert not at.exception
    caption = caption_of(at, "Nearest to the pinned z = (")
    assert caption.startswith("Nearest to the pinned z = (1.50, 0.00): held-out #")
    nearest = int((codes - torch.tensor([1.5, 0.0])).norm(dim=1).argmin())
    assert f"held-out #{nearest}," in caption
    assert bridge_data(at, "bridge_manifold")["pin"] == [1.5, 0.0]  # the plane's marker follows
    assert bridge_data(at, "bridge_manifold")["live"]["x"] == {"key": "z1", "scale": 1.0}  # and mirrors the slider
    assert at.query_params["z1"] == "1.5"


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_pin_on_the_plane_moves_the_sliders_and_url_and_shows_the_nearest_image(mnist_test):
    codes = load_checkpoint(CATALOG[VAE2].path)[0].embed(mnist_test)
    at = open_page(VAE2)
    x, y = (float(v) for v in codes[7])
    pin(at, "bridge_manifold", {"x": x, "y": y, "seq": 1})
    for dim, key in enumerate(("z1", "z2")):
        slider = at.slider(key=key)
        assert slider.value == pytest.approx(float(codes[7, dim]), abs=slider.step / 2 + 1e-6)
    assert at.query_params["z1"] == f"{at.slider(key='z1').value:.3g}"
    assert ": held-out #7, class " in caption_of(at, "Nearest to the pinned z")
    assert bridge_data(at, "bridge_manifold")["pin"] == [at.slider(key="z1").value, at.slider(key="z2").value]


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
@pytest.mark.parametrize("value", [{"x": "1", "y": 0}, {"x": float("nan"), "y": 0}, {"x": 1e300, "y": 1},
                                   {"y": 1}, "pin", None, [1, 2]])
def test_a_malformed_pin_from_the_browser_changes_nothing(value):
    at = open_page(VAE2, z1="0.5", z2="0.5")
    pin(at, "bridge_manifold", value)
    assert not at.error
    assert (at.slider(key="z1").value, at.slider(key="z2").value) == (0.5, 0.5)


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_pin_far_outside_is_clamped_to_the_sliders():
    at = open_page(VAE2)
    pin(at, "bridge_manifold", {"x": 1e9, "y": -1e9})
    z1, z2 = at.slider(key="z1"), at.slider(key="z2")
    assert (z1.value, z2.value) == (z1.max, z2.min)


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_url_sets_the_sliders():
    at = open_page(VAE2, z1="1.5", z2="-0.5", grid="9")
    assert at.slider(key="z1").value == pytest.approx(1.5)
    assert at.slider(key="z2").value == pytest.approx(-0.5)
    assert bridge_data(at, "bridge_manifold")["pin"] == [1.5, -0.5]
    assert at.slider(key="grid").value == 9
    assert "9×9 grid" in caption_of(at, "Dense VAE")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_bad_url_values_fall_back_or_clamp():
    at = open_page(VAE2, z1="abc", z2="1e9", grid="-4")
    z1, z2 = at.slider(key="z1"), at.slider(key="z2")
    assert z1.value == 0.0  # not a number: the default, the prior's mean
    assert z2.value == z2.max and z2.max < 10  # absurdly large: clamped to the slider's end
    assert at.slider(key="grid").value == 5
    assert not at.error
    at = open_page(VAE2, tab=INTERPOLATION, a="nan", b="100000", method="cubic")
    assert at.number_input(key="a").value == 0
    assert at.number_input(key="b").value == at.number_input(key="b").max == 499
    assert at.radio(key="method").value == "linear"
    assert not at.error
    assert not open_page(VAE2, tab="no such tab").error  # an unknown tab opens the first


@needs(AE2 not in CATALOG, reason="needs mnist_ae2")
def test_plain_ae_sliders_and_plane_span_its_codes(mnist_test):
    codes = load_checkpoint(CATALOG[AE2].path)[0].embed(mnist_test)
    at = open_page(AE2)
    for dim, key in enumerate(("z1", "z2")):
        slider = at.slider(key=key)
        assert slider.min <= float(codes[:, dim].min()) and float(codes[:, dim].max()) <= slider.max
    x0, x1, y0, y1 = unpack(component(at, "plane_manifold").proto.bytes)[0]["plane"]["extent"]
    assert x0 <= float(codes[:, 0].min()) and float(codes[:, 1].max()) <= y1
    assert "span of the held-out codes" in next(c.value for c in at.caption if "dashed square" in c.value)


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_decoder_too_large_for_the_browser_keeps_its_sliders(mnist_test):
    from models.autoencoders import build_model
    from models.config import ModelConfig
    from models.data import load_dataset
    from ui.session_models import TRAINED_KEY, ModelChoice

    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(3000, 3000), latent=2)).eval()
    big = ModelChoice(name="big", title="big", dataset="mnist", model=model, record={},
                      data=load_dataset("mnist", source="bundled"), trained_here=True)
    def open_big(**params: str) -> AppTest:
        at = app_test()
        at.session_state[TRAINED_KEY] = {"big": big}
        at.query_params.update(model="big", **params)
        at.switch_page("pages/latent.py").run()
        assert not at.exception, at.exception
        return at

    at = open_big()
    assert any("million weights" in info.value for info in at.info)
    assert not at.get("bidi_component")
    end = at.slider(key="z1").max
    moved = open_big(z1=repr(end))  # the sliders still decode, on the server
    assert moved.slider(key="z1").value == end
    assert image_url(moved, "Pinned: z = (") != image_url(at, "Pinned: z = (")  # decoded on the server
