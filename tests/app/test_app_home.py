"""The home page: the default page at /, linking to every other page."""


from streamlit.testing.v1 import AppTest

from tests import ROOT


def test_home_is_the_default_page_and_links_every_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Autoencoder Explorer"
    links = {link.proto.page for link in at.get("page_link")}  # url paths of the linked pages
    assert links == {"reconstructions", "denoising", "features", "latent", "train", "about"}
    assert at.query_params["model"] in (["mnist_vae2"], "mnist_vae2")
