"""Every view in the URL, and the right model on each page: the sidebar follows a link's ?model= over its own
session state, each page opens on the model that shows its point unless the URL or the user named one, a link
to a model this app does not have says so, and ?present=1 (projector mode) is read and written back."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from tests.app.apptest import app_test
from ui.sidebar import PAGE_MODELS, distinct_default

CATALOG = {entry.name: entry for entry in load_catalog()}
needs = pytest.mark.skipif(not {"mnist_cae16", "mnist_vae2", "mnist_ae2", "olivetti_cae32", "olivetti_cvae2"}
                           <= set(CATALOG), reason="needs the shipped MNIST and faces models")


def fresh() -> AppTest:
    at = app_test()
    at.run()  # the first run sets up st.navigation; only then can a test switch page
    return at


def go(at: AppTest, page: str, **query: str) -> AppTest:
    """Follow a link: Streamlit replaces the whole query with the link's."""
    at.query_params = dict(query)
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def model(at: AppTest) -> str:
    return at.sidebar.selectbox(key="sidebar_model").value


def notices(at: AppTest) -> list[str]:
    return [w.value.replace("\\", "") for w in at.warning]


@needs
@pytest.mark.parametrize("page", sorted(PAGE_MODELS))
def test_each_page_opens_on_its_own_model(page):
    at = go(fresh(), page)
    assert model(at) == PAGE_MODELS[page][0]
    assert at.query_params["model"] == PAGE_MODELS[page][0]


@needs
def test_reconstructions_opens_on_a_conv_ae_and_latent_on_a_2d_vae_in_one_session():
    at = go(fresh(), "reconstructions")
    config = at.session_state["model_choice"].model.config
    assert (config.arch, config.kind) == ("conv", "ae")
    at = go(at, "latent")
    config = at.session_state["model_choice"].model.config
    assert (config.kind, config.latent) == ("vae", 2)


@needs
def test_a_model_the_user_picks_stays_across_pages():
    at = go(fresh(), "reconstructions")
    at.sidebar.selectbox(key="sidebar_model").set_value("mnist_ae2").run()
    assert model(at) == "mnist_ae2"
    assert model(go(at, "latent")) == "mnist_ae2"
    assert model(go(at, "denoising")) == "mnist_ae2"


@needs
def test_a_dataset_the_user_picks_gives_each_page_its_model_of_that_dataset():
    at = go(fresh(), "reconstructions")
    at.sidebar.selectbox(key="sidebar_dataset").set_value("olivetti").run()
    assert model(at) == "olivetti_cae32"
    assert model(go(at, "latent")) == "olivetti_cvae2"


@needs
def test_a_link_wins_over_the_sidebars_state_on_the_same_page_and_on_another():
    at = go(fresh(), "latent")
    at.sidebar.selectbox(key="sidebar_model").set_value("mnist_vae16").run()
    assert model(go(at, "latent", model="mnist_ae2")) == "mnist_ae2"  # a link to the page already open
    assert model(go(at, "reconstructions", model="mnist_ae2")) == "mnist_ae2"  # the same name, on a new page
    assert at.query_params["model"] == "mnist_ae2"


@needs
def test_reruns_keep_a_linked_model_and_a_page_change_returns_to_the_pages_default():
    at = go(fresh(), "reconstructions", model="mnist_ae2")
    at.slider(key="recon_n").set_value(20).run()  # a rerun of the page, the URL as this session wrote it
    assert model(at) == "mnist_ae2"
    assert model(go(at, "latent")) == "mnist_vae2"  # a link is not the user's pick


@needs
def test_a_link_naming_a_model_this_app_does_not_have_says_so_and_shows_the_default():
    at = go(fresh(), "reconstructions", model="trained-a26230")
    assert model(at) == "mnist_cae16"
    assert at.query_params["model"] == "mnist_cae16"
    shown = [n for n in notices(at) if "trained-a26230" in n]
    assert len(shown) == 1 and "Conv AE, latent 16" in shown[0]
    at.slider(key="recon_n").set_value(20).run()
    assert len([n for n in notices(at) if "trained-a26230" in n]) == 1  # still there after a rerun
    at.sidebar.selectbox(key="sidebar_model").set_value("mnist_ae2").run()
    assert not [n for n in notices(at) if "trained-a26230" in n]  # gone once the user picks a model


@needs
def test_denoising_on_faces_never_compares_a_model_with_itself():
    at = go(fresh(), "denoising", model="olivetti_cae32")
    assert at.selectbox(key="dae").value != at.selectbox(key="plain").value


def test_projector_mode_comes_from_the_url_and_goes_back_into_it():
    at = go(fresh(), "about", present="1")
    assert at.session_state["present"] is True
    assert at.toggle(key="present").value is True
    styles = [h.proto.body for h in at.get("html")]
    assert any("stMainBlockContainer" in s for s in styles)  # the projector CSS was sent
    at.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params
    assert not any("stMainBlockContainer" in h.proto.body for h in at.get("html"))
    at.toggle(key="present").set_value(True).run()
    assert at.query_params["present"] == "1"
    assert go(at, "latent").query_params["present"] == "1"  # kept across a page change


def test_distinct_default_never_repeats_the_other_sides_model_when_there_is_another():
    assert distinct_default(["a", "b", "c"], "b") == "b"
    assert distinct_default(["a", "b", "c"], "b", avoid="b") == "a"
    assert distinct_default(["a", "b"], "z", avoid="a") == "b"
    assert distinct_default(["a"], "a", avoid="a") == "a"  # one model: nothing else to show
