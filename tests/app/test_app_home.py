"""The home page: the default page at /, linking to every other page."""

from tests.app.apptest import app_test


def test_home_is_the_default_page_and_links_every_page():
    at = app_test().run()
    assert not at.exception
    assert at.title[0].value == "Autoencoder Explorer"
    links = {link.proto.page for link in at.get("page_link")}  # url paths of the linked pages
    assert links == {"reconstructions", "denoising", "features", "latent", "train", "about"}
    assert at.query_params["model"] in (["mnist_vae2"], "mnist_vae2")
