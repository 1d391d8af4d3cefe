"""The Reconstructions page in AppTest, and the plain helpers it uses to read photos and drawings."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.data import load_dataset, photos
from models.errors import DataError
from tests.app.apptest import app_test
from ui.reconstructions import plots as rp

CATALOG = {entry.name: entry for entry in load_catalog()}
MNIST = "mnist_cae16" if "mnist_cae16" in CATALOG else next(n for n, e in CATALOG.items() if e.dataset == "mnist")


def open_page(model: str = MNIST, **params: str) -> AppTest:
    """The Reconstructions page for `model`, with extra URL query parameters."""
    at = app_test()
    at.query_params["model"] = model
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/reconstructions.py").run()
    assert not at.exception
    assert at.title[0].value == "Reconstructions"
    return at


def gallery(at: AppTest) -> list:
    """The pair images of the gallery (each: original above reconstruction, caption 'label · error')."""
    return [image for image in at.get("image") if " · " in image.captions[0] and "Reconstruction" not in
            image.captions[0]]


def shown_labels(at: AppTest) -> list[str]:
    return [image.captions[0].split(" · ")[0] for image in gallery(at)]


def digit_png(background: int = 230, ink: int = 20, size=(240, 320), index: int = 0) -> bytes:
    """A 'photo' of a held-out MNIST digit: dark ink on light paper, off-centre, with uneven light and noise."""
    digit = load_dataset("mnist", source="bundled").test[index, 0].numpy()
    big = np.asarray(Image.fromarray((digit * 255).astype(np.uint8)).resize((120, 120)), dtype=np.float32) / 255
    h, w = size
    paper = np.full(size, background, dtype=np.float32) + np.linspace(-15, 15, w)[None, :]
    paper += np.random.default_rng(0).normal(0, 4, size)
    paper[30:150, 150:270] = paper[30:150, 150:270] * (1 - big) + ink * big
    buffer = io.BytesIO()
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- the page on every shipped model ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CATALOG))
def test_page_runs_on_every_pretrained_model(name):
    at = open_page(name)
    what = rp.ERROR_LABELS[load_checkpoint(CATALOG[name].path)[0].config.loss]
    assert not at.error
    assert len(gallery(at)) == 16
    assert at.metric[0].label == f"Mean {what}, these 16"
    assert at.metric[1].label.startswith(f"Mean {what}, all ")
    assert all(np.isfinite(float(m.value)) for m in at.metric)
    assert at.get("download_button")
    digits = CATALOG[name].dataset == "mnist"
    assert bool(at.get("bidi_component")) == digits  # the drawing canvas only for digit models
    if not digits:
        assert "Drawing is for digits" in at.info[-1].value


# --- widgets change what is shown ---------------------------------------------------------------------
def test_reshuffle_draws_another_sample_and_keeps_it_in_the_url():
    at = open_page()
    before = [image.value for image in gallery(at)]
    at.button(key="recon_reshuffle").click().run()
    assert not at.exception
    after = [image.value for image in gallery(at)]
    assert len(after) == len(before) == 16
    assert after != before
    assert at.query_params["seed"] == "1"


def test_class_filter_restricts_the_images():
    at = open_page()
    assert len(set(shown_labels(at))) > 1
    at.selectbox(key="recon_class").set_value("3").run()
    assert not at.exception
    assert shown_labels(at) == ["3"] * 16
    assert at.query_params["class"] == "3"


def test_class_with_few_images_shows_all_of_them_and_says_so():
    faces = [n for n, e in CATALOG.items() if e.dataset == "olivetti"]
    if not faces:
        pytest.skip("no faces model in the catalog yet")
    at = open_page(faces[0])
    at.selectbox(key="recon_class").set_value("person 5").run()
    assert not at.exception
    assert shown_labels(at) == ["person 5", "person 5"]  # two held-out photos per person
    assert "Only 2 held-out images" in at.info[0].value


def test_number_slider_sets_how_many_images():
    at = open_page()
    at.slider(key="recon_n").set_value(24).run()
    assert not at.exception
    assert len(gallery(at)) == 24
    assert at.query_params["n"] == "24"


def test_the_phone_pager_pages_by_rows_and_keeps_its_page_in_the_url():
    at = open_page(n="20")
    pager = at.get("button_group")[0]
    assert pager.proto.label == "Images"
    assert [pager.proto.options[i].content for i in range(3)] == ["1–8", "9–16", "17–20"]
    assert "page" not in at.query_params  # page 1, the default, needs no place in the URL
    before = [image.value for image in gallery(at)]
    pager.set_value(3).run()
    assert not at.exception
    assert at.query_params["page"] == "3"
    assert [image.value for image in gallery(at)] == before  # a wide screen still shows every row
    at.button(key="recon_reshuffle").click().run()
    assert "page" not in at.query_params  # a new sample starts on its first page
    linked = open_page(n="20", page="2")
    assert linked.session_state["recon_page"] == 2
    assert not open_page(n="8").get("button_group")  # one row: nothing to page
    assert open_page(n="16", page="9").session_state["recon_page"] == 2  # out of range: clamped


def test_url_restores_the_view():
    default = shown_labels(open_page())
    at = open_page(seed="5", n="24", **{"class": "7"})
    assert at.slider(key="recon_n").value == 24
    assert at.selectbox(key="recon_class").value == "7"
    assert shown_labels(at) == ["7"] * 24
    again = open_page(seed="5", n="24", **{"class": "7"})
    assert [i.value for i in gallery(again)] == [i.value for i in gallery(at)]  # same seed, same images
    assert shown_labels(open_page(seed="5")) != default


def test_bad_url_values_fall_back_to_defaults():
    at = open_page(seed="abc", n="lots", **{"class": "banana"})
    assert not at.error
    assert at.slider(key="recon_n").value == 16
    assert at.selectbox(key="recon_class").value == "all"
    assert [i.value for i in gallery(at)] == [i.value for i in gallery(open_page())]  # seed 0


# --- your own input -----------------------------------------------------------------------------------
def test_bad_upload_shows_an_error_and_the_page_survives():
    at = open_page()
    at.file_uploader(key="upload").set_value(("digit.png", b"this is not an image", "image/png")).run()
    assert not at.exception
    assert "digit.png" in at.error[0].value.replace("\\", "")  # the file name is Markdown-escaped
    assert len(gallery(at)) == 16  # nothing else lost


def test_truncated_png_upload_shows_an_error():
    at = open_page()
    at.file_uploader(key="upload").set_value(("cut.png", digit_png()[:200], "image/png")).run()
    assert not at.exception
    assert "cut.png" in at.error[0].value.replace("\\", "")  # the file name is Markdown-escaped


def test_photo_upload_shows_input_and_reconstruction():
    at = open_page()
    images_before = len(at.get("image"))
    at.file_uploader(key="upload").set_value(("zero.png", digit_png(), "image/png")).run()
    assert not at.exception and not at.error
    captions = [image.captions[0] for image in at.get("image")]
    assert len(captions) == images_before + 3  # the upload, what the model sees, the reconstruction
    assert "What the model sees" in captions
    assert any(c.startswith("Reconstruction · BCE per image ") for c in captions)  # mnist_cae16: BCE
    assert any("inverted" in c.value for c in at.caption)


@pytest.mark.skipif("mnist_vae2" not in CATALOG, reason="needs mnist_vae2")
def test_a_2d_models_upload_shows_its_code_on_a_latent_plane_that_can_be_pinned():
    import json

    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    at = open_page("mnist_vae2")
    at.file_uploader(key="upload").set_value(("zero.png", digit_png(), "image/png")).run()
    assert not at.exception and not at.error
    bridge = next(e for e in at.get("bidi_component") if e.key == "bridge_own_upload")
    data = json.loads(json.loads(bridge.proto.json)["view"])
    model = load_checkpoint(CATALOG["mnist_vae2"].path)[0]
    x, _, _ = photos.prepare_upload(digit_png(), "zero.png", (1, 28, 28), digits=True)
    code = model.embed(x)[0]
    assert data["overlays"][0]["point"] == pytest.approx(code.tolist(), abs=1e-5)
    x0, x1, y0, y1 = data["extent"]
    assert x0 <= float(code[0]) <= x1 and y0 <= float(code[1]) <= y1  # the plane reaches the image's code
    # It opens pinned at the image's code, named so, and the caption gives the same z.
    assert data["pin"] == pytest.approx(code.tolist(), abs=1e-6)
    assert data["pin_label"] == "your image's code"
    named = f"Nearest to your image's code z = ({code[0]:.2f}, {code[1]:.2f}): "
    assert any(caption.value.startswith(named) for caption in at.caption)
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = _make_trigger_id(bridge.proto.id, "events")
    state.json_trigger_value = json.dumps([{"event": "pin", "value": {"x": 0.5, "y": -0.5}}])
    at._run(states)
    assert not at.exception
    assert any(caption.value.startswith("Nearest to the pinned z = (0.50, -0.50): ") for caption in at.caption)
    bridge = next(e for e in at.get("bidi_component") if e.key == "bridge_own_upload")
    data = json.loads(json.loads(bridge.proto.json)["view"])
    assert data["pin"] == [0.5, -0.5] and data["pin_label"] is None
    # Another image opens at its own code, not at the pin made on the first.
    at.file_uploader(key="upload").set_value(("seven.png", digit_png(index=1), "image/png")).run()
    assert not at.exception and not at.error
    bridge = next(e for e in at.get("bidi_component") if e.key == "bridge_own_upload")
    data = json.loads(json.loads(bridge.proto.json)["view"])
    x, _, _ = photos.prepare_upload(digit_png(index=1), "seven.png", (1, 28, 28), digits=True)
    other = model.embed(x)[0]
    assert float((other - code).norm()) > 0.1  # a different code, so the test can tell them apart
    assert data["pin"] == pytest.approx(other.tolist(), abs=1e-6) and data["pin_label"] == "your image's code"


# --- the plain helpers --------------------------------------------------------------------------------
def test_photo_of_a_dark_digit_becomes_an_mnist_like_input():
    digit = load_dataset("mnist", source="bundled").test[0, 0].numpy()
    x, gray, notes = photos.prepare_upload(digit_png(), "photo.png", (1, 28, 28), digits=True)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    assert gray.shape == (240, 320)
    assert any("inverted" in note for note in notes)
    assert float(x.min()) == 0.0 and float(x.max()) == pytest.approx(1.0, abs=0.05)
    assert np.corrcoef(x.numpy().ravel(), photos.centre_digit(digit).ravel())[0, 1] > 0.9


def test_light_on_dark_upload_is_not_inverted():
    x, _, notes = photos.prepare_upload(digit_png(background=10, ink=240), "dark.png", (1, 28, 28), digits=True)
    assert not any("inverted" in note for note in notes)
    assert x[0, 0, 0, 0] == 0.0  # background stays black


def test_face_upload_is_cropped_and_resized_not_inverted():
    x, _, notes = photos.prepare_upload(digit_png(), "face.png", (1, 64, 64), digits=False)
    assert x.shape == (1, 1, 64, 64)
    assert not any("inverted" in note for note in notes)


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="GIF")
    return buffer.getvalue()


@pytest.mark.parametrize("make, problem", [
    (lambda: b"", "not a PNG or JPEG image"),
    (gif_bytes, "not a PNG or JPEG"),
    (lambda: digit_png()[:100], "corrupt or truncated"),
], ids=["empty", "gif", "truncated"])
def test_bad_uploads_raise_data_errors_naming_the_file(make, problem):
    with pytest.raises(DataError, match=problem) as info:
        photos.prepare_upload(make(), "mine.png", (1, 28, 28), digits=True)
    assert "mine.png" in str(info.value)


def test_blank_photo_is_refused():
    buffer = io.BytesIO()
    Image.new("L", (50, 50), color=255).save(buffer, format="PNG")
    with pytest.raises(DataError, match="background"):
        photos.prepare_upload(buffer.getvalue(), "blank.png", (1, 28, 28), digits=True)


def test_centre_digit_fits_the_box_and_centres_the_mass():
    ink = np.zeros((280, 280), dtype=np.float32)
    ink[20:200, 30:90] = 1.0  # a tall bar near the top-left corner
    x = photos.centre_digit(ink)
    rows, cols = np.flatnonzero(x.max(1) > 0.1), np.flatnonzero(x.max(0) > 0.1)
    assert rows[-1] - rows[0] + 1 <= 21 and cols[-1] - cols[0] + 1 <= 8  # longer side 20, aspect kept
    yy, xx = np.mgrid[:28, :28]
    assert abs((yy * x).sum() / x.sum() - 13.5) <= 1 and abs((xx * x).sum() / x.sum() - 13.5) <= 1


def test_drawing_becomes_a_centred_input_and_an_empty_canvas_gives_none():
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    assert photos.drawing_to_input(rgba, (1, 28, 28)) is None
    assert photos.drawing_to_input(None, (1, 28, 28)) is None
    rgba[40:240, 200:230, :3] = 255  # a white stroke on the right
    x = photos.drawing_to_input(rgba, (1, 28, 28))
    assert x.shape == (1, 1, 28, 28)
    cols = np.flatnonzero(x[0, 0].numpy().max(0) > 0.1)
    assert 10 <= cols.mean() <= 17  # moved to the middle


def test_sample_indices_are_seeded_and_respect_the_class():
    labels = np.arange(100) % 10
    a, b = rp.sample_indices(100, 16, 3, labels), rp.sample_indices(100, 16, 3, labels)
    assert np.array_equal(a, b) and len(set(a)) == 16
    assert not np.array_equal(a, rp.sample_indices(100, 16, 4, labels))
    sevens = rp.sample_indices(100, 16, 3, labels, cls=7)
    assert len(sevens) == 10 and set(labels[sevens]) == {7}


def test_comparison_grid_puts_originals_above_their_reconstructions():
    originals = np.full((10, 28, 28), 200, dtype=np.uint8)
    reconstructions = np.full((10, 28, 28), 50, dtype=np.uint8)
    grid = rp.comparison_grid(originals, reconstructions, ncols=8, factor=2)
    pad = 2
    assert grid.shape == (2 * (4 * (28 + pad) - pad), 2 * (8 * (28 + pad) - pad))
    step = 2 * (28 + pad)
    assert grid[10, 10] == 200 and grid[step + 10, 10] == 50  # row 1 originals, row 2 reconstructions
    assert grid[2 * step + 10, 10] == 200 and grid[3 * step + 10, 10] == 50
    assert grid[2 * step + 10, 2 * step + 10] == 255  # the third row holds only 2 pairs: the rest is blank


def test_comparison_grid_of_fewer_images_than_a_row():
    grid = rp.comparison_grid(np.full((2, 28, 28), 200, np.uint8), np.full((2, 28, 28), 50, np.uint8), 8, 1)
    assert grid.shape == (2 * 28 + 2, 2 * 28 + 2)  # two pairs: two columns, original row above reconstruction row
    assert grid[5, 35] == 200 and grid[35, 35] == 50
