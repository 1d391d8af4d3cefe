"""The lesson path through the app, in one place: the ordered steps (each with its page, the link that opens it
exactly, what to show and the one question to ask the class), Home's numbered cards, About's lesson plan, and the
"Back" / "Next" links at the end of every page.

Streamlit and the catalog's JSON only (no torch): Home draws it before the models load.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import streamlit as st

from models.catalog import load_catalog
from ui.projector import PRESENT_KEY, presenting


@dataclass(frozen=True)
class Step:
    title: str  # what the step is about, as Home's card and the Next/Back links name it
    page: str  # the page script, for st.page_link
    url_path: str  # the page's path in app.py's st.navigation
    icon: str
    show: str  # what to show the class
    question: str  # the one question to ask it
    # Query parameters that open the step exactly, per dataset; the first dataset is the default. A dataset not
    # listed keeps the current model, so the next page shows the same data.
    links: dict = field(default_factory=dict)


HOME = Step("Home", "pages/home.py", "", ":material/home:", "", "")
STEPS = [
    Step("Reconstructions", "pages/reconstructions.py", "reconstructions", ":material/compare:",
         "Held-out images the model never saw, above what it rebuilds from a short code, and its mean error on "
         "all of them. Reshuffle; pick one class.",
         "What does the code keep, and what does it lose?",
         {"mnist": {"model": "mnist_cae16"}, "olivetti": {"model": "olivetti_cae32"}}),
    Step("Denoising", "pages/denoising.py", "denoising", ":material/blur_off:",
         "The same noisy images through a denoising AE and a plain one; raise the noise and compare their PSNR.",
         "Why does a model trained on noisy inputs clean them better than one trained on clean images?",
         {"mnist": {"model": "mnist_dcae16"}, "olivetti": {"model": "olivetti_dcae32"}}),
    Step("Holes in the code", "pages/latent.py", "latent", ":material/explore:",
         "A plain AE's 2-D code plane: where the held-out codes fall, and what it decodes in the gaps (red).",
         "What does the decoder draw at a point no image was coded to?",
         {"mnist": {"model": "mnist_ae2", "tab": "Holes: AE vs VAE"},
          "olivetti": {"model": "olivetti_cvae2", "tab": "Manifold"}}),
    Step("Sampling a VAE", "pages/latent.py", "latent", ":material/casino:",
         "A VAE's code plane, packed towards N(0, I), and new images decoded from codes drawn at random.",
         "Why can we sample new images from a VAE but not from a plain AE?",
         {"mnist": {"model": "mnist_vae2", "tab": "Samples from the prior"},
          "olivetti": {"model": "olivetti_cvae2", "tab": "Samples from the prior"}}),
    Step("Unit features", "pages/features.py", "features", ":material/grid_view:",
         "What each hidden unit reads (W) and writes (W'), tied against untied, and four ways to decode a code.",
         "Why learn a separate W′ rather than tie W′ = Wᵀ, and why not decode with f⁻¹?",
         {"mnist": {"left": "mnist_tied100", "right": "mnist_untied100"}}),
    Step("Train your own", "pages/train.py", "train", ":material/model_training:",
         "Each student trains a model, watches its loss fall, then opens it on the other pages.",
         "Which setting changes the held-out loss most, and why?"),
]
ABOUT = Step("Lesson plan", "pages/about.py", "about", ":material/school:", "", "")
PATH = [HOME, *STEPS, ABOUT]


@functools.lru_cache(maxsize=1)
def _catalog_datasets() -> dict[str, str]:
    return {entry.name: entry.dataset for entry in load_catalog()}


def current_dataset() -> str | None:
    """The dataset on show: a link's model, else the sidebar's (None before any model was shown)."""
    linked = _catalog_datasets().get(st.query_params.get("model", ""))
    return linked or st.session_state.get("sidebar_dataset")


def step_query(step: Step, dataset: str | None = None, model: str | None = None) -> dict[str, str]:
    """The query that opens `step` on `dataset` (its own model of that dataset, else `model`, which keeps the
    data), in projector mode when it is on."""
    shipped = _catalog_datasets()
    options = {d: q for d, q in step.links.items()
               if all(v in shipped for k, v in q.items() if k in ("model", "left", "right"))}
    if dataset is None and options:
        query = dict(next(iter(options.values())))
    elif dataset in options:
        query = dict(options[dataset])
    else:
        query = {"model": model} if model and step is not HOME else {}
    if presenting():
        query[PRESENT_KEY] = "1"
    return query


def link_query(step: Step) -> dict[str, str]:
    """step_query for the data on show now."""
    model = st.query_params.get("model") or st.session_state.get("sidebar_model")
    return step_query(step, current_dataset(), model)


def label(step: Step) -> str:
    return f"{STEPS.index(step) + 1} · {step.title}" if step in STEPS else step.title


def position(url_path: str) -> int:
    """Where a page stands on PATH. The Latent page holds two steps: a VAE on it is the VAE step."""
    index = next(i for i, step in enumerate(PATH) if step.url_path == url_path)
    choice = st.session_state.get("model_choice")
    if url_path == "latent" and choice is not None and choice.model.has_prior:
        index += 1
    return index


def footer(url_path: str) -> None:
    """"Back" and "Next" along the path, at the end of a page; About leads back to step 1."""
    index = position(url_path)
    back = PATH[index - 1] if index > 0 else None
    after = PATH[index + 1] if index + 1 < len(PATH) else STEPS[0]
    st.divider()
    left, right = st.columns(2)
    if back is not None:
        left.page_link(back.page, label=f"Back: {label(back)}", icon=":material/arrow_back:",
                       query_params=link_query(back) or None)
    right.page_link(after.page, label=f"Next: {label(after)}", icon=":material/arrow_forward:",
                    query_params=link_query(after) or None)


def step_cards() -> None:
    """Home's numbered steps, in rows, so that a phone stacks them in the path's order."""
    per_row = 3
    for start in range(0, len(STEPS), per_row):
        for column, step in zip(st.columns(per_row), STEPS[start:start + per_row]):
            with column.container(border=True, height="stretch"):
                st.page_link(step.page, label=f"**{label(step)}**", icon=step.icon,
                             query_params=link_query(step) or None)
                st.caption(step.show)


def lesson_plan() -> None:
    """About's plan: for each step, what to show, the link that opens it, and the question to ask."""
    for number, step in enumerate(STEPS, 1):
        with st.container(border=True, gap="small"):
            st.page_link(step.page, label=f"**Step {number} · {step.title}**", icon=step.icon,
                         query_params=link_query(step) or None)
            st.markdown(f"{step.show} **Ask:** *{step.question}*")
