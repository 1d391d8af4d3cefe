"""The Latent page beyond its 2-D plane, in AppTest: the Interpolation, Samples and Holes tabs, the principal
directions of a wider code, and models trained in the session."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from models.checkpoint import load_checkpoint
from tests.app.apptest import app_test
from tests.app.test_app_latent import (AE2, CATALOG, VAE2, bridge_data, caption_of, captions, component, image_url,
                                       needs, open_page, pin)
from ui.latent_plane.payload import unpack

WIDE = next((n for n in ("mnist_vae16", "mnist_cae16") if n in CATALOG), None)


INTERPOLATION, SAMPLES, HOLES = "Interpolation", "Samples from the prior", "Holes: AE vs VAE"


# --- interpolation and samples ---------------------------------------------------------------------------------
@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_interpolation_strip_follows_b_and_is_in_the_url():
    at = open_page(VAE2, tab=INTERPOLATION)
    before = image_url(at, "Dense VAE, latent 2: top row linear")
    at.number_input(key="b").set_value(5).run()
    assert not at.exception
    assert image_url(at, "Dense VAE, latent 2: top row linear") != before
    assert caption_of(at, "B: held-out #5")
    assert at.query_params["b"] == "5"
    shared = open_page(VAE2, tab=INTERPOLATION, a="5", b="9", steps="6")
    assert caption_of(shared, "A: held-out #5") and caption_of(shared, "B: held-out #9")
    assert "6 steps" in caption_of(shared, "Dense VAE, latent 2: top row linear")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_gif_download_follows_the_method():
    at = open_page(VAE2, tab=INTERPOLATION)
    assert at.get("download_button")[0].proto.label.endswith("linear interpolation as a GIF")
    at.radio(key="method").set_value("slerp").run()
    assert at.get("download_button")[0].proto.label.endswith("spherical (slerp) interpolation as a GIF")
    assert at.query_params["method"] == "slerp"


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_new_samples_button_draws_new_samples():
    at = open_page(VAE2, tab=SAMPLES)
    before = image_url(at, "32 samples from")
    assert "seed 0" in caption_of(at, "32 samples from")
    at.button(key="new_samples").click().run()
    assert not at.exception
    assert image_url(at, "32 samples from") != before
    assert "seed 1" in caption_of(at, "32 samples from")
    assert image_url(open_page(VAE2, tab=SAMPLES, seed="1"), "32 samples from") == image_url(at, "32 samples from")


@needs(AE2 not in CATALOG, reason="needs mnist_ae2")
def test_plain_ae_explains_it_has_no_prior():
    at = open_page(AE2, tab=SAMPLES)
    assert any("no prior to sample from" in info.value for info in at.info)
    assert not [b for b in at.button if b.key == "new_samples"]
    assert not [image for image in at.get("image") if image.captions[0].startswith("32 samples")]


# --- holes: a plain AE beside a VAE ------------------------------------------------------------------------
@needs(not {VAE2, AE2} <= set(CATALOG), reason="needs mnist_ae2 and mnist_vae2")
def test_holes_section_compares_ae_and_vae_over_the_chosen_region():
    at = open_page(VAE2, tab=HOLES)
    assert at.selectbox(key="holes_ae").value == AE2 and at.selectbox(key="holes_vae").value == VAE2
    spread = {m.label: m.value for m in at.metric}
    outline = bridge_data(at, "bridge_holes_ae")["overlays"][0]["rect"]
    at.radio(key="region").set_value("square").run()
    assert not at.exception and at.query_params["region"] == "square"
    assert "z1 -3.00…3.00, z2 -3.00…3.00" in caption_of(at, "Dense AE, latent 2: 15×15 decodes")
    assert "z1 -3.00…3.00, z2 -3.00…3.00" in caption_of(at, "Dense VAE, latent 2: 15×15 decodes")
    assert {m.label: m.value for m in at.metric} != spread
    assert len(at.metric) == 6
    assert bridge_data(at, "bridge_holes_ae")["overlays"][0]["rect"] == [-3.0, 3.0, -3.0, 3.0] != outline


@needs(not {VAE2, AE2} <= set(CATALOG), reason="needs mnist_ae2 and mnist_vae2")
def test_a_pin_on_a_holes_plane_shows_its_decode_and_nearest_image(mnist_test):
    codes = load_checkpoint(CATALOG[AE2].path)[0].embed(mnist_test)
    at = open_page(VAE2, tab=HOLES)
    assert not [text for text in captions(at) if text.startswith("Nearest to the pinned")]
    far = [float(codes[:, 0].max()) + 5, float(codes[:, 1].max()) + 5]  # deep in a hole
    pin(at, "bridge_holes_ae", {"x": far[0], "y": far[1], "seq": 1})
    assert bridge_data(at, "bridge_holes_ae")["pin"] == pytest.approx(far)
    assert bridge_data(at, "bridge_holes_vae")["pin"] is None  # each plane keeps its own pin
    index = int((codes - torch.tensor(far)).norm(dim=1).argmin())
    nearest = caption_of(at, "Nearest to the pinned z")
    assert f": held-out #{index}," in nearest
    distance = float((codes[index] - torch.tensor(far)).norm())
    assert f"{distance:.2f} away" in nearest


# --- a latent above 2: principal directions --------------------------------------------------------------------
@needs(WIDE is None, reason="needs a 16-D MNIST model")
def test_principal_sliders_decode_live_and_go_in_the_url():
    at = open_page(WIDE)
    labels = [at.slider(key=f"pc{k}").label for k in range(1, 5)]
    assert all("% of variance" in label for label in labels)
    before = caption_of(at, "Nearest to the pinned z")
    at.slider(key="pc1").set_value(2.0).run()
    assert not at.exception
    assert caption_of(at, "Nearest to the pinned z") != before
    assert at.query_params["pc1"] == "2"
    assert open_page(WIDE, pc1="2", pc2="7").slider(key="pc2").value == 3.0  # clamped to ±3 σ


@needs(WIDE is None, reason="needs a 16-D MNIST model")
def test_the_pc_plane_pin_and_base_follow_the_sliders(mnist_test):
    from models.analysis.latent import principal_directions

    codes = load_checkpoint(CATALOG[WIDE].path)[0].embed(mnist_test)
    pca = principal_directions(codes, 4)
    at = open_page(WIDE, pc1="1", pc3="2")
    data = bridge_data(at, "bridge_pca")
    assert data["pin"] == pytest.approx([float(pca.std[0]), 0.0], abs=1e-5)
    assert data["base"] == pytest.approx(pca.code([0.0, 0.0, 2.0]).tolist(), abs=1e-4)
    plane = unpack(component(at, "plane_pca").proto.bytes)[0]["plane"]
    assert plane["mode"] == "pca" and plane["v1"] == pytest.approx(pca.directions[0].tolist(), abs=1e-5)
    live = data["live"]  # what the browser needs to follow the sliders as they move: z = base + Σ a_k·σ_k·v_k
    assert live["x"]["key"] == "pc1" and live["x"]["scale"] == pytest.approx(float(pca.std[0]))
    assert [t["key"] for t in live["terms"]] == ["pc3", "pc4"]
    assert live["terms"][0]["vector"] == pytest.approx((pca.std[2] * pca.directions[2]).tolist(), abs=1e-5)


@needs(WIDE is None, reason="needs a 16-D MNIST model")
def test_a_pin_on_the_pc_plane_moves_the_first_two_pc_sliders(mnist_test):
    from models.analysis.latent import principal_directions

    codes = load_checkpoint(CATALOG[WIDE].path)[0].embed(mnist_test)
    pca = principal_directions(codes, 4)
    xy = pca.project(codes[11:12])[0, :2]
    at = open_page(WIDE, pc3="1.5")
    pin(at, "bridge_pca", {"x": float(xy[0]), "y": float(xy[1]), "seq": 3})
    for k in range(2):
        expected = min(max(float(xy[k] / pca.std[k]), -3.0), 3.0)
        assert at.slider(key=f"pc{k + 1}").value == pytest.approx(expected, abs=0.011)
    assert at.slider(key="pc3").value == 1.5  # the other directions stay where they were


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


@needs("mnist_vae16" not in CATALOG, reason="needs mnist_vae16")
def test_a_barely_used_dimension_is_called_out(mnist_test):
    """A copy of the 16-D VAE with z5 cut off from the input (a collapsed unit, built on purpose)."""
    from models.data import load_dataset
    from ui.session_models import TRAINED_KEY, ModelChoice

    model, record = load_checkpoint(CATALOG["mnist_vae16"].path)
    with torch.no_grad():
        model.to_code.weight[4].zero_()
        model.to_code.bias[4] = 0.3
    collapsed = ModelChoice(name="collapsed", title="collapsed", dataset="mnist", model=model, record=record,
                            data=load_dataset("mnist", source="bundled"), trained_here=True)

    def captions_for(dim: int) -> list[str]:
        at = app_test()
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
    from models.analysis.latent import principal_directions

    codes = load_checkpoint(CATALOG["mnist_tied100"].path)[0].embed(mnist_test)
    z = principal_directions(codes, 4).code([3.0])
    outside = int(((z <= 0) | (z >= 1)).sum())
    at = open_page("mnist_tied100", pc1="3")
    caption = caption_of(at, "Nearest to the pinned z")
    assert outside > 0  # 3σ along PC1 leaves the unit cube the sigmoid codes live in
    assert f"{outside} of its 100 components lie outside sigmoid's range (0, 1)" in caption
    assert "outside" not in caption_of(open_page("mnist_tied100"), "Nearest to the pinned z")  # the mean code is reachable


def test_session_trained_models_without_labels_on_larger_images():
    """Models trained here on the user's own images: 64×64, no class labels, names not in the catalog."""
    from models.autoencoders import build_model
    from models.config import ModelConfig
    from models.data import Dataset
    from ui.session_models import TRAINED_KEY, ModelChoice

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
    def open_trained(name: str, tab: str | None = None) -> AppTest:
        at = app_test()
        at.session_state[TRAINED_KEY] = trained
        at.query_params["model"] = name
        if tab:
            at.query_params["tab"] = tab
        at.switch_page("pages/latent.py").run()
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        return at

    for name in ("mine-vae2", "mine-ae5"):
        at = open_trained(name)
        plane = next(e for e in at.get("bidi_component") if e.key.startswith("plane_"))
        header, arrays = unpack(plane.proto.bytes)
        assert header["program"]["image_shape"] == [1, 64, 64] and header["label_names"] == []
        assert arrays["labels"].tolist() == [-1] * 12
        assert "class" not in caption_of(at, "Nearest to the pinned z")  # no class to name
        at = open_trained(name, INTERPOLATION)
        assert caption_of(at, "A: held-out #0") == "A: held-out #0"
        assert at.number_input(key="b").max == 11
        at = open_trained(name, HOLES)
        assert at.selectbox(key="holes_ae").value == "mine-ae2" and at.selectbox(key="holes_vae").value == "mine-vae2"
    at = open_trained("mine-ae5")
    assert at.slider(key="pc4") and at.selectbox(key="dim").options == [f"z{d}" for d in range(1, 6)]


@pytest.mark.parametrize("latent", [2, 5])
def test_a_model_whose_codes_are_not_finite_gets_a_message_not_a_crash(latent):
    from models.autoencoders import build_model
    from models.config import ModelConfig
    from models.data import load_dataset
    from ui.session_models import TRAINED_KEY, ModelChoice

    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(16,), latent=latent)).eval()
    with torch.no_grad():
        model.to_code.bias[0] = float("nan")  # as a diverged run could leave it
    broken = ModelChoice(name="broken", title="broken", dataset="mnist", model=model, record={},
                         data=load_dataset("mnist", source="bundled"), trained_here=True)
    at = app_test()
    at.session_state[TRAINED_KEY] = {"broken": broken}
    at.query_params["model"] = "broken"
    at.switch_page("pages/latent.py").run()
    assert not at.exception, at.exception
    messages = [m.value for m in (*at.info, *at.error)]
    assert any("NaN or infinite" in m for m in messages), messages


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_an_unexpected_error_shows_a_short_message_and_no_server_path(monkeypatch):
    import ui.latent.explore

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/autoencoder/secret.py line 12 exploded")

    monkeypatch.setattr(ui.latent.explore, "nearest_code", broken)
    at = open_page(VAE2)
    messages = [e.value for e in at.error]
    assert any("Something unexpected went wrong while drawing the sliders and the pinned code (RuntimeError)" in m for m in messages)
    assert not any("/srv" in m for m in messages)
    assert component(at, "plane_manifold")  # the rest of the page is still there
