"""The VAE's posterior on the Latent page and the interpolation between ends you pick, in AppTest: the ellipse
switch and its URL, which held-out image a pin sits on, and A and B set by clicks, classes and points, in the URL."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.checkpoint import load_checkpoint
from tests.app.test_app_latent import (AE2, CATALOG, VAE2, bridge_data, caption_of, captions, component, image_url,
                                       needs, open_page, pin, trigger)
from ui.latent_plane.payload import unpack
from ui.messages import escape_md

INTERPOLATION = "Interpolation"
WIDE_VAE = "mnist_vae16"


def held_out_posterior(name: str, mnist_test) -> tuple[torch.Tensor, torch.Tensor]:
    model = load_checkpoint(CATALOG[name].path)[0]
    with torch.no_grad():
        mu, logvar = model.encode_stats(mnist_test)
    return mu, torch.exp(0.5 * logvar)


# --- the posterior on the Manifold tab -------------------------------------------------------------------------
def switch_spread(at, bridge_key: str, on) -> None:
    """What the switch over a plane sends: the bridge's "spread" trigger (as `pin` sends a click)."""
    trigger(at, bridge_key, "spread", on)


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_the_ellipse_switch_is_in_the_url_and_tells_the_plane(mnist_test):
    at = open_page(VAE2)
    assert bridge_data(at, "bridge_manifold")["spread"] is False  # offered, off
    switch_spread(at, "bridge_manifold", True)
    assert at.query_params["posterior"] == "ellipses" and bridge_data(at, "bridge_manifold")["spread"] is True
    linked = open_page(VAE2, posterior="ellipses")
    assert bridge_data(linked, "bridge_manifold")["spread"] is True
    _, sigma = held_out_posterior(VAE2, mnist_test)
    note = caption_of(linked, "Ellipses: each held-out image's posterior")
    assert f"Median semi-axes {float(sigma.max(1).values.median()):.3g}" in note  # a 2-D code's own plane
    _, arrays = unpack(component(linked, "plane_manifold").proto.bytes)
    assert np.allclose(arrays["sigma"].reshape(-1, 2), sigma.numpy(), atol=1e-6)
    switch_spread(linked, "bridge_manifold", False)
    assert "posterior" not in linked.query_params and bridge_data(linked, "bridge_manifold")["spread"] is False
    assert not [c for c in captions(linked) if c.startswith("Ellipses")]
    switch_spread(linked, "bridge_manifold", "yes")  # not a boolean: the browser is not trusted
    assert bridge_data(linked, "bridge_manifold")["spread"] is False


@needs(AE2 not in CATALOG, reason="needs mnist_ae2")
def test_a_plain_ae_offers_no_ellipses_and_sends_no_sigma():
    at = open_page(AE2, posterior="ellipses")
    assert bridge_data(at, "bridge_manifold")["spread"] is None  # no switch in its legend
    assert unpack(component(at, "plane_manifold").proto.bytes)[1]["sigma"].size == 0
    assert not [c for c in captions(at) if c.startswith("Ellipses")]


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_click_on_a_dot_tells_the_plane_which_image_the_pin_sits_on(mnist_test):
    mu, _ = held_out_posterior(VAE2, mnist_test)
    at = open_page(VAE2)
    assert bridge_data(at, "bridge_manifold")["posterior"] is True
    x, y = mu[17].tolist()
    pin(at, "bridge_manifold", {"x": x, "y": y, "seq": 1})  # what a click on the dot of #17 sends
    view = bridge_data(at, "bridge_manifold")
    assert view["code"] == 17 and view["pin"] != [x, y]  # the pin snapped to the sliders, still on #17's code
    pin(at, "bridge_manifold", {"x": x + 0.3, "y": y, "seq": 2})
    assert bridge_data(at, "bridge_manifold")["code"] is None  # off every code
    shared = open_page(VAE2, z1=f"{x:.2f}", z2=f"{y:.2f}")  # the link a pin on #17 leaves in the address bar
    assert bridge_data(shared, "bridge_manifold")["code"] == 17


@needs(WIDE_VAE not in CATALOG, reason="needs mnist_vae16")
def test_a_wider_vae_pins_codes_on_its_principal_plane_and_ships_their_16_d_sigma(mnist_test):
    at = open_page(WIDE_VAE)
    header, arrays = unpack(component(at, "plane_pca").proto.bytes)
    _, sigma = held_out_posterior(WIDE_VAE, mnist_test)
    assert np.allclose(arrays["sigma"].reshape(-1, 16), sigma.numpy(), atol=1e-6)
    x, y = arrays["xy"].reshape(-1, 2)[23].tolist()
    pin(at, "bridge_pca", {"x": x, "y": y, "seq": 1})
    assert bridge_data(at, "bridge_pca")["code"] == 23


# --- interpolation between ends you pick ----------------------------------------------------------------------
@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_two_clicks_set_a_then_b_and_the_url_keeps_both(mnist_test):
    at = open_page(VAE2, tab=INTERPOLATION)
    before = image_url(at, "Dense VAE, latent 2: top row linear")
    assert at.radio(key="interp_click").value == "a"
    pin(at, "bridge_interp", {"x": 1.25, "y": -0.5, "seq": 1})  # empty space: a point
    assert at.query_params["a"] == "1.25,-0.5" and at.radio(key="interp_click").value == "b"
    mu, _ = held_out_posterior(VAE2, mnist_test)
    x, y = mu[42].tolist()
    pin(at, "bridge_interp", {"x": x, "y": y, "seq": 2})  # a dot: that held-out image
    assert at.query_params["b"] == "42" and at.radio(key="interp_click").value == "a"
    assert caption_of(at, f"A: {escape_md('point (1.25, -0.50) on the plane')}, decoded")
    assert caption_of(at, "B: held-out #42")
    assert image_url(at, "Dense VAE, latent 2: top row linear") != before
    overlays = bridge_data(at, "bridge_interp")["overlays"]
    points = {o["label"]: o["point"] for o in overlays if "point" in o}
    assert points["A"] == pytest.approx([1.25, -0.5], abs=1e-6) and points["B"] == pytest.approx([x, y], abs=1e-6)
    paths = [o["path"] for o in overlays if "path" in o]
    assert len(paths) == 2 and all(len(p) == 10 for p in paths)  # linear and slerp, one point per step
    again = open_page(VAE2, tab=INTERPOLATION, a="1.25,-0.5", b="42")  # the link opens the same strip
    assert image_url(again, "Dense VAE, latent 2: top row linear") == image_url(at, "Dense VAE, latent 2: top row")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_a_class_end_is_its_mean_code_and_stays_in_the_url(mnist, mnist_test):
    at = open_page(VAE2, tab=INTERPOLATION, a="class:3", b="7")
    assert at.radio(key="a_kind").value == "class" and at.selectbox(key="a_class").value == 3
    assert caption_of(at, "A: mean code of class 3, decoded") and caption_of(at, "B: held-out #7")
    assert at.query_params["a"] == "class:3"
    mu, _ = held_out_posterior(VAE2, mnist_test)
    mean = mu[mnist.test_labels == 3].mean(0)
    point = next(o["point"] for o in bridge_data(at, "bridge_interp")["overlays"] if o.get("label") == "A")
    assert point == pytest.approx(mean.tolist(), abs=1e-5)
    at.selectbox(key="a_class").set_value(5).run()
    assert at.query_params["a"] == "class:5" and caption_of(at, "A: mean code of class 5, decoded")


@needs(VAE2 not in CATALOG, reason="needs mnist_vae2")
def test_bad_ends_in_a_link_fall_back_to_the_first_images():
    at = open_page(VAE2, tab=INTERPOLATION, a="class:99", b="1,2,3")
    assert not at.exception and not at.error
    assert at.radio(key="a_kind").value == "image" and at.number_input(key="a").value == 0
    assert at.radio(key="b_kind").value == "image" and at.number_input(key="b").value == 1


@needs(WIDE_VAE not in CATALOG, reason="needs mnist_vae16")
def test_a_point_on_a_wider_codes_plane_is_on_its_principal_directions():
    at = open_page(WIDE_VAE, tab=INTERPOLATION, a="1.5,-0.5", b="class:1")
    point = next(o["point"] for o in bridge_data(at, "bridge_interp")["overlays"] if o.get("label") == "A")
    assert point == pytest.approx([1.5, -0.5], abs=1e-5)  # the point lies on the plane it was clicked on
    assert caption_of(at, "B: mean code of class 1, decoded")
