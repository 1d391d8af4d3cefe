"""The Latent manifold page in AppTest: every shipped model, live sliders, shared links, selection, samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]
CATALOG = {entry.name: entry for entry in load_catalog()}
VAE2 = "mnist_vae2"
AE2 = "mnist_ae2"
WIDE = next((n for n in ("mnist_vae16", "mnist_cae16") if n in CATALOG), None)
needs = pytest.mark.skipif


def open_page(model: str, **params: str) -> AppTest:
    """The Latent manifold page for `model` with extra URL query parameters, as a shared link would open it."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["model"] = model
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


def caption_of(at: AppTest, caption_start: str) -> str:
    return next(image.captions[0] for image in at.get("image") if image.captions[0].startswith(caption_start))


def select_points(at: AppTest, chart_key: str, indices: list[int]) -> AppTest:
    """Simulate a plotly selection: AppTest has no plotly widget, so send the chart's selection state the way
    the browser does (a JSON string under the chart's widget id) along with every other widget's state."""
    chart = next(element for element in at.get("plotly_chart") if element.key == chart_key)
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = chart.proto.id
    state.string_value = json.dumps({"selection": {
        "points": [{"curve_number": 0, "point_index": i, "customdata": i} for i in indices],
        "point_indices": indices, "box": [], "lasso": []}})
    at._run(states)
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def mnist_test():
    return load_dataset("mnist", source="bundled").test


# --- every shipped model ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CATALOG))
def test_page_runs_for_every_catalog_model(name):
    at = open_page(name)
    assert not at.error, [e.value for e in at.error]
    latent = CATALOG[name].latent
    keys = {slider.key for slider in at.slider}
    if latent == 2:
        assert {"z1", "z2", "grid"} <= keys
        image_url(at, "slider z = ")
    else:
        assert {f"pc{k}" for k in range(1, min(4, latent) + 1)} <= keys
        image_url(at, "PC decode")
    image_url(at, "A: held-out #0")
    assert at.number_input(key="a").value == 0 and at.number_input(key="b").value == 1


# --- a 2-D latent: live sliders and shared links -------------------------------------------------------------
@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_moving_z1_changes_the_decoded_image_and_the_url():
    at = open_page(VAE2)
    before = image_url(at, "slider z = ")
    at.slider(key="z1").set_value(1.5).run()
    assert not at.exception
    assert image_url(at, "slider z = ") != before
    assert caption_of(at, "slider z = ").startswith("slider z = (1.50, 0.00)")
    assert at.query_params["z1"] == "1.5"


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_url_sets_the_sliders():
    at = open_page(VAE2, z1="1.5", z2="-0.5", grid="9")
    assert at.slider(key="z1").value == pytest.approx(1.5)
    assert at.slider(key="z2").value == pytest.approx(-0.5)
    assert at.slider(key="grid").value == 9
    assert "9×9 grid" in caption_of(at, "Dense VAE")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_bad_url_values_fall_back_or_clamp():
    at = open_page(VAE2, z1="abc", z2="1e9", grid="-4", a="nan", b="100000", method="cubic")
    z1, z2 = at.slider(key="z1"), at.slider(key="z2")
    assert z1.value == 0.0  # not a number: the default, the prior's mean
    assert z2.value == z2.max and z2.max < 10  # absurdly large: clamped to the slider's end
    assert at.slider(key="grid").value == 5
    assert at.number_input(key="a").value == 0
    assert at.number_input(key="b").value == at.number_input(key="b").max == 499
    assert at.radio(key="method").value == "linear"
    assert not at.error


@needs(AE2 not in CATALOG, reason="needs mnist_ae2")
def test_plain_ae_sliders_span_its_codes(mnist_test):
    codes = load_checkpoint(CATALOG[AE2].path)[0].embed(mnist_test)
    at = open_page(AE2)
    for dim, key in enumerate(("z1", "z2")):
        slider = at.slider(key=key)
        assert slider.min <= float(codes[:, dim].min()) and float(codes[:, dim].max()) <= slider.max
    assert "span of the held-out codes" in caption_of(at, "Dense AE")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_selecting_a_point_decodes_it_and_moves_the_sliders(mnist_test):
    codes = load_checkpoint(CATALOG[VAE2].path)[0].embed(mnist_test)
    at = open_page(VAE2)
    select_points(at, "scatter", [7])
    assert caption_of(at, "held-out #7").startswith("held-out #7, class ")
    shown = caption_of(at, "decode of its code")
    assert f"{codes[7, 0]:.2f}" in shown and f"{codes[7, 1]:.2f}" in shown
    for dim, key in enumerate(("z1", "z2")):
        slider = at.slider(key=key)
        assert slider.value == pytest.approx(float(codes[7, dim]), abs=slider.step / 2 + 1e-6)
    if AE2 in CATALOG:  # the selection belongs to the model it was made on
        at.sidebar.selectbox(key="sidebar_model").set_value(AE2).run()
        assert not at.exception
        assert not [image for image in at.get("image") if image.captions[0].startswith("held-out #7")]
        assert any(c.value.startswith("Click a point in the scatter") for c in at.caption)


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_box_selection_shows_the_point_nearest_its_mean_code(mnist_test):
    codes = load_checkpoint(CATALOG[VAE2].path)[0].embed(mnist_test)
    chosen = [3, 40, 41, 200]
    nearest = chosen[int(torch.cdist(codes[chosen].mean(0, keepdim=True), codes[chosen]).argmin())]
    at = open_page(VAE2)
    select_points(at, "scatter", chosen)
    assert caption_of(at, f"held-out #{nearest},").endswith("(of 4 selected: the one nearest their mean code)")


# --- interpolation and samples ---------------------------------------------------------------------------------
@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_interpolation_strip_follows_b_and_is_in_the_url():
    at = open_page(VAE2)
    before = image_url(at, "Dense VAE, latent 2: top row linear")
    at.number_input(key="b").set_value(5).run()
    assert not at.exception
    assert image_url(at, "Dense VAE, latent 2: top row linear") != before
    assert caption_of(at, "B: held-out #5")
    assert at.query_params["b"] == "5"
    shared = open_page(VAE2, a="5", b="9", steps="6")
    assert caption_of(shared, "A: held-out #5") and caption_of(shared, "B: held-out #9")
    assert "6 steps" in caption_of(shared, "Dense VAE, latent 2: top row linear")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_gif_download_follows_the_method():
    at = open_page(VAE2)
    assert at.get("download_button")[0].proto.label.endswith("linear interpolation as a GIF")
    at.radio(key="method").set_value("slerp").run()
    assert at.get("download_button")[0].proto.label.endswith("spherical (slerp) interpolation as a GIF")
    assert at.query_params["method"] == "slerp"


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_new_samples_button_draws_new_samples():
    at = open_page(VAE2)
    before = image_url(at, "32 samples from")
    assert "seed 0" in caption_of(at, "32 samples from")
    at.button(key="new_samples").click().run()
    assert not at.exception
    assert image_url(at, "32 samples from") != before
    assert "seed 1" in caption_of(at, "32 samples from")
    assert image_url(open_page(VAE2, seed="1"), "32 samples from") == image_url(at, "32 samples from")


@needs(AE2 not in CATALOG, reason="needs mnist_ae2")
def test_plain_ae_explains_it_has_no_prior():
    at = open_page(AE2)
    assert any("no prior to sample from" in info.value for info in at.info)
    assert not [b for b in at.button if b.key == "new_samples"]
    assert not [image for image in at.get("image") if image.captions[0].startswith("32 samples")]


# --- holes: a plain AE beside a VAE ------------------------------------------------------------------------
@needs(not {VAE2, AE2} <= set(CATALOG), reason="needs mnist_ae2 and mnist_vae2")
def test_holes_section_compares_ae_and_vae_over_the_chosen_region():
    at = open_page(VAE2)
    assert at.selectbox(key="holes_ae").value == AE2 and at.selectbox(key="holes_vae").value == VAE2
    spread = {m.label: m.value for m in at.metric}
    at.radio(key="region").set_value("square").run()
    assert not at.exception and at.query_params["region"] == "square"
    assert "z1 -3.00…3.00, z2 -3.00…3.00" in caption_of(at, "Dense AE, latent 2: 15×15 decodes")
    assert "z1 -3.00…3.00, z2 -3.00…3.00" in caption_of(at, "Dense VAE, latent 2: 15×15 decodes")
    assert {m.label: m.value for m in at.metric} != spread
    assert len(at.metric) == 6


# --- a latent above 2: principal directions --------------------------------------------------------------------
@needs(WIDE is None, reason="needs a 16-D MNIST model")
def test_principal_sliders_decode_live_and_go_in_the_url():
    at = open_page(WIDE)
    labels = [at.slider(key=f"pc{k}").label for k in range(1, 5)]
    assert all("% of variance" in label for label in labels)
    before = image_url(at, "PC decode")
    at.slider(key="pc1").set_value(2.0).run()
    assert not at.exception
    assert image_url(at, "PC decode") != before
    assert at.query_params["pc1"] == "2"
    assert open_page(WIDE, pc1="2", pc2="7").slider(key="pc2").value == 3.0  # clamped to ±3 σ


@needs(WIDE is None, reason="needs a 16-D MNIST model")
def test_dimension_traversal_follows_the_picked_dimension(mnist_test):
    codes = load_checkpoint(CATALOG[WIDE].path)[0].embed(mnist_test)
    widest = int(codes.std(0).argmax()) + 1
    at = open_page(WIDE)
    assert at.selectbox(key="dim").value == widest  # the default: the dimension the codes use most
    before = image_url(at, f"z{widest} swept")
    other = 1 if widest != 1 else 2
    at.selectbox(key="dim").set_value(other).run()
    assert not at.exception
    assert image_url(at, f"z{other} swept") != before
    assert at.query_params["dim"] == str(other)
    assert open_page(WIDE, dim="99").selectbox(key="dim").value == 16


@needs(WIDE is None, reason="needs a 16-D MNIST model")
def test_selecting_a_point_on_the_pc_scatter_moves_the_pc_sliders(mnist_test):
    from models.latent_analysis import principal_directions

    codes = load_checkpoint(CATALOG[WIDE].path)[0].embed(mnist_test)
    pca = principal_directions(codes, 4)
    expected = (pca.project(codes[11:12])[0] / pca.std).clamp(-3, 3)
    at = open_page(WIDE)
    select_points(at, "pc_scatter", [11])
    assert caption_of(at, "held-out #11")
    for k in range(4):
        assert at.slider(key=f"pc{k + 1}").value == pytest.approx(float(expected[k]), abs=0.051)


@needs("mnist_vae16" not in CATALOG, reason="needs mnist_vae16")
def test_a_barely_used_dimension_is_called_out(mnist_test):
    """A copy of the 16-D VAE with z5 cut off from the input (a collapsed unit, built on purpose)."""
    from models.data import load_dataset
    from pages.common import TRAINED_KEY, ModelChoice

    model, record = load_checkpoint(CATALOG["mnist_vae16"].path)
    with torch.no_grad():
        model.to_code.weight[4].zero_()
        model.to_code.bias[4] = 0.3
    collapsed = ModelChoice(name="collapsed", title="collapsed", dataset="mnist", model=model, record=record,
                            data=load_dataset("mnist", source="bundled"), trained_here=True)

    def captions_for(dim: int) -> list[str]:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state[TRAINED_KEY] = {"collapsed": collapsed}
        at.query_params["model"] = "collapsed"
        at.query_params["dim"] = str(dim)
        at.switch_page("pages/latent.py").run()
        assert not at.exception, at.exception
        return [c.value for c in at.caption if "barely varies" in c.value]

    spread = model.embed(mnist_test).std(0)
    assert spread[4] == 0
    notes = captions_for(5)
    assert len(notes) == 1 and "z5 barely varies" in notes[0] and "collapsed unit" in notes[0]
    assert captions_for(int(spread.argmax()) + 1) == []


@needs("mnist_tied100" not in CATALOG, reason="needs mnist_tied100")
def test_pc_codes_outside_a_sigmoid_codes_range_are_flagged(mnist_test):
    from models.latent_analysis import principal_directions

    codes = load_checkpoint(CATALOG["mnist_tied100"].path)[0].embed(mnist_test)
    z = principal_directions(codes, 4).code([3.0])
    outside = int(((z <= 0) | (z >= 1)).sum())
    at = open_page("mnist_tied100", pc1="3")
    caption = caption_of(at, "PC decode")
    assert outside > 0  # 3σ along PC1 leaves the unit cube the sigmoid codes live in
    assert f"{outside} of its 100 components lie outside sigmoid's range (0, 1)" in caption
    assert "outside" not in caption_of(open_page("mnist_tied100"), "PC decode")  # the mean code is reachable


def test_session_trained_models_without_labels_on_larger_images():
    """Models trained here on the user's own images: 64×64, no class labels, names not in the catalog."""
    from models.autoencoders import build_model
    from models.config import ModelConfig
    from models.data import Dataset
    from pages.common import TRAINED_KEY, ModelChoice

    g = torch.Generator().manual_seed(0)
    data = Dataset(name="user", train=torch.rand(20, 1, 64, 64, generator=g), test=torch.rand(12, 1, 64, 64,
                   generator=g), train_labels=None, test_labels=None, label_names=None, source="test images")
    configs = {"mine-vae2": dict(kind="vae", arch="conv", hidden=(8, 16), latent=2),
               "mine-ae2": dict(kind="ae", arch="dense", hidden=(32,), latent=2),
               "mine-ae5": dict(kind="ae", arch="dense", hidden=(32,), latent=5)}
    trained = {}
    for name, options in configs.items():
        torch.manual_seed(0)
        model = build_model(ModelConfig(input_shape=(1, 64, 64), **options)).eval()
        trained[name] = ModelChoice(name=name, title=name, dataset="user", model=model, record={}, data=data,
                                    trained_here=True)
    for name in ("mine-vae2", "mine-ae5"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state[TRAINED_KEY] = trained
        at.query_params["model"] = name
        at.switch_page("pages/latent.py").run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert caption_of(at, "A: held-out #0") == "A: held-out #0"  # no class to name
        assert at.number_input(key="b").max == 11
        assert at.selectbox(key="holes_ae").value == "mine-ae2" and at.selectbox(key="holes_vae").value == "mine-vae2"
    assert at.slider(key="pc4") and at.selectbox(key="dim").options == [f"z{d}" for d in range(1, 6)]
