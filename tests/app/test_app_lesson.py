"""The lesson path (ui/lesson.py): each page opens with its short answer (one sentence with the decisive number,
then one picture, before any control), ends with Back and Next links along the path that keep the dataset and
projector mode, and Home numbers the steps in the menu's order, in rows that a phone stacks in that order."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from models.catalog import load_catalog
from tests import ROOT
from tests.app.apptest import app_test
from ui import lesson

CATALOG = {entry.name: entry for entry in load_catalog()}
PICTURES = {"image", "plotly_chart"}
TEXT = {"markdown", "caption"}
PAGES = {"": "pages/home.py", "reconstructions": "pages/reconstructions.py", "denoising": "pages/denoising.py",
         "train": "pages/train.py", "about": "pages/about.py"}
needs = pytest.mark.skipif(not {"mnist_cae16", "mnist_dcae16", "mnist_ae2", "olivetti_cae32", "olivetti_dcae32",
                                "mnist_tied100", "mnist_untied100"} <= set(CATALOG),
                           reason="needs the shipped MNIST and faces models")


def open_page(path: str, **query: str) -> AppTest:
    at = app_test(180)
    at.query_params = dict(query)
    if path:
        at.switch_page(PAGES[path])
    at.run()
    assert not at.exception, at.exception
    return at


def leaves(node):
    """The page's elements in the order the browser shows them (a phone stacks columns in this order too)."""
    children = getattr(node, "children", None)
    if children:
        for key in sorted(children):
            yield from leaves(children[key])
    else:
        yield node


def short_answer(at: AppTest) -> tuple[str, str]:
    """The first element after the title (its text) and the picture after it, with nothing but text between."""
    shown = [n for n in leaves(at.main) if n.type not in ("flex_container", "empty")]
    start = next(i for i, n in enumerate(shown) if n.type == "title") + 1
    assert shown[start].type == "markdown", [n.type for n in shown[start:start + 4]]
    picture = next(i for i, n in enumerate(shown[start:], start) if n.type not in TEXT)
    assert shown[picture].type in PICTURES, [n.type for n in shown[start:picture + 1]]
    return shown[start].value, shown[picture].type


def footer(at: AppTest) -> dict[str, tuple[str, dict]]:
    """'Back' and 'Next' → (the page's url path, the link's query)."""
    out = {}
    for link in at.get("page_link"):
        which = link.proto.label.split(":")[0]
        if which in ("Back", "Next"):
            out[which] = (link.proto.page, {k: v[0] for k, v in parse_qs(link.proto.query_string).items()})
    return out


def numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,]*(?:\.\d+)?", text)


@needs
def test_home_opens_with_a_picture_and_the_code_size_and_numbers_the_steps_in_the_menus_order():
    at = open_page("")
    sentence, _ = short_answer(at)
    assert str(CATALOG["mnist_cae16"].latent) in numbers(sentence) and "784" in numbers(sentence)
    cards = [link.proto.label for link in at.get("page_link") if re.match(r"\*\*\d · ", link.proto.label)]
    assert cards == [f"**{i} · {step.title}**" for i, step in enumerate(lesson.STEPS, 1)]  # in rows: phone order
    menu = re.findall(r'st\.Page\("(pages/\w+\.py)"', (ROOT / "app.py").read_text())
    path = list(dict.fromkeys(step.page for step in lesson.PATH))
    assert menu == path
    assert not any("sidebar" in n.value for n in leaves(at.main) if n.type in TEXT)  # folded away on a phone
    assert footer(at) == {"Next": ("reconstructions", {"model": "mnist_cae16"})}


@needs
def test_reconstructions_opens_with_the_mean_error_on_all_held_out_images():
    at = open_page("reconstructions")
    sentence, picture = short_answer(at)
    overall = next(m for m in at.metric if ", all " in m.label)
    held_out = re.search(r"all (\d+) held out", overall.label).group(1)
    assert picture == "image"
    assert f"all **{held_out} held-out images**" in sentence and f"**{overall.value}**" in sentence
    assert footer(at) == {"Back": ("", {}), "Next": ("denoising", {"model": "mnist_dcae16"})}


@needs
def test_denoising_opens_with_psnr_noisy_to_denoised_on_the_same_images():
    at = open_page("denoising")
    sentence, _ = short_answer(at)
    psnr = [m.value for m in at.metric if m.label == "PSNR (dB)"]  # noisy, denoiser, plain
    assert f"from **{psnr[0]} dB** (noisy) to **{psnr[1]} dB**" in sentence and f"**{psnr[2]} dB**" in sentence
    assert "same 8 held-out images" in sentence
    assert footer(at) == {"Back": ("reconstructions", {"model": "mnist_cae16"}),
                          "Next": ("latent", {"model": "mnist_ae2", "tab": "Holes: AE vs VAE"})}


@needs
def test_train_opens_with_a_shipped_models_loss_curve_and_its_kept_loss():
    at = open_page("train")
    sentence, picture = short_answer(at)
    record = CATALOG["mnist_ae2"].record
    kept = next(h for h in record["history"] if h["epoch"] == record["best_epoch"])
    assert picture == "plotly_chart"
    assert f"**{record['initial_heldout_loss']:.0f}**" in sentence and f"**{kept['heldout_loss']:.1f}**" in sentence
    assert footer(at) == {"Back": ("features", {"left": "mnist_tied100", "right": "mnist_untied100"}),
                          "Next": ("about", {"model": "mnist_vae2"})}  # keeps the data: the sidebar's model


@needs
def test_about_is_a_lesson_plan_with_every_steps_link_and_question():
    at = open_page("about")
    sentence, _ = short_answer(at)
    assert f"**{len(lesson.STEPS)} steps**" in sentence
    opened = [(link.proto.page, link.proto.query_string) for link in at.get("page_link")
              if link.proto.label.startswith("**Step ")]
    assert [page for page, _ in opened] == [step.url_path for step in lesson.STEPS]
    assert ("latent", "model=mnist_vae2&tab=Samples+from+the+prior") in opened
    text = " ".join(n.value for n in leaves(at.main) if n.type == "markdown")
    assert all(step.question in text for step in lesson.STEPS)
    assert footer(at)["Next"][0] == "reconstructions" and footer(at)["Back"][0] == "train"


@needs
@pytest.mark.parametrize("path, back, after", [
    ("reconstructions", ("", {}), ("denoising", {"model": "olivetti_dcae32"})),
    ("denoising", ("reconstructions", {"model": "olivetti_cae32"}), ("latent", {"model": "olivetti_cvae2",
                                                                                "tab": "Manifold"})),
    ("train", ("features", {"model": "olivetti_cae32"}), ("about", {"model": "olivetti_cae32"})),
])
def test_next_and_back_keep_the_faces_dataset_and_projector_mode(path, back, after):
    at = open_page(path, model="olivetti_cae32", present="1")
    links = footer(at)
    with_present = {which: (page, {**query, "present": "1"}) for which, (page, query) in
                    (("Back", back), ("Next", after))}
    assert links == with_present


@needs
def test_the_latent_page_holds_two_steps_a_plain_ae_the_holes_and_a_vae_the_samples():
    at = app_test(180)
    at.query_params = {"model": "mnist_ae2"}
    at.switch_page("pages/latent.py")
    assert footer(at.run()) == {"Back": ("denoising", {"model": "mnist_dcae16"}),
                                "Next": ("latent", {"model": "mnist_vae2", "tab": "Samples from the prior"})}
    at.query_params = {"model": "mnist_vae2", "present": "1"}
    at.switch_page("pages/latent.py")
    assert footer(at.run()) == {
        "Back": ("latent", {"model": "mnist_ae2", "tab": "Holes: AE vs VAE", "present": "1"}),
        "Next": ("features", {"left": "mnist_tied100", "right": "mnist_untied100", "present": "1"})}
