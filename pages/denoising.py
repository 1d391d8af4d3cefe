"""Denoising: the same corrupted held-out images through a denoising autoencoder and a plain one."""

import streamlit as st
import torch

from models.analysis.image_quality import image_quality
from models.noise import NOISE_TYPES, corrupt
from ui import lesson, pictures
from ui.messages import escape_md
from ui.projector import presenting, scaled
from ui.query import query_choice, query_float, set_query, state_from_query
from ui.reconstructions import plots as rp
from ui.session_models import ModelChoice, config_of, current, model_names
from ui.sidebar import pick_model

N_IMAGES = 8
IMAGE_SEED = 0  # the same held-out images on every visit
NOISE_SEED = 1234  # one noise draw for every level: moving the slider scales it (Gaussian) or grows it (masks)
ROW_PX = 80  # each image of a row, about (larger in projector mode)
LEVEL_STEP = 0.05
DEFAULT_LEVEL = 0.5
MAX_LEVEL = {"gaussian": 1.0, "masking": 0.9, "salt_pepper": 0.9}
LEVEL_LABEL = {"gaussian": "Noise σ (added to pixels in [0, 1], then clipped)",
               "masking": "Fraction of pixels set to black",
               "salt_pepper": "Fraction of pixels set to black or white"}


def image_row(title: str, caption: str, images: torch.Tensor, factor: int, quality=None, baseline=None) -> None:
    """One labelled row of images, with PSNR and SSIM against the clean row (and the gain over `baseline`)."""
    # On a projector the labels get more room, so their larger text takes a line and four rows fit the screen.
    widths = [3, 5, 0.9, 0.9] if presenting() else [1.3, 5, 1, 1]
    label, picture, psnr_slot, ssim_slot = st.columns(widths, vertical_alignment="center")
    label.markdown(f"**{escape_md(title)}**")
    label.caption(caption)
    picture.image(pictures.enlarge(pictures.tile(pictures.to_uint8(images), N_IMAGES), factor), clamp=True,
                  output_format="PNG")
    if quality is None:
        return
    psnr, ssim = quality
    gain = None if baseline is None else (f"{psnr - baseline[0]:+.1f}", f"{ssim - baseline[1]:+.3f}")
    psnr_slot.metric("PSNR (dB)", "∞" if psnr >= 100 else f"{psnr:.1f}", None if gain is None else gain[0],
                     help="Peak signal-to-noise ratio against the clean images, mean over the row; higher is closer")
    ssim_slot.metric("SSIM", f"{ssim:.3f}", None if gain is None else gain[1],
                     help="Structural similarity against the clean images (1 = identical), mean over the row")


@st.fragment
def noise_view(clean: torch.Tensor, dae: ModelChoice, plain: ModelChoice) -> None:
    state_from_query("noise_type", query_choice("noise", list(NOISE_TYPES), "gaussian"))
    state_from_query("noise_level", query_float("level", DEFAULT_LEVEL, 0.0, 1.0))
    answer, picture = st.empty(), st.container()  # the short answer first, the controls under it
    kind_slot, level_slot = st.columns([3, 4])
    kind = kind_slot.radio("Noise type", NOISE_TYPES, format_func=rp.NOISE_TITLES.get, key="noise_type",
                           horizontal=True)
    # One slider for every type: snap the kept value onto this type's range and grid before drawing it.
    high = MAX_LEVEL[kind]
    snapped = round(round(float(st.session_state["noise_level"]) / LEVEL_STEP) * LEVEL_STEP, 2)
    st.session_state["noise_level"] = min(high, snapped)
    level = level_slot.slider(LEVEL_LABEL[kind], 0.0, high, step=LEVEL_STEP, key="noise_level")
    set_query(noise=kind, level=level)

    noisy = corrupt(clean, kind, level, torch.Generator().manual_seed(NOISE_SEED))
    outputs = [dae.model.reconstruct(noisy), plain.model.reconstruct(noisy)]
    # No noise: the input is the clean image itself (PSNR infinite), and skimage would divide by zero.
    noisy_quality = (float("inf"), 1.0) if level == 0 else image_quality(clean, noisy)
    baseline = None if level == 0 else noisy_quality  # no noise: a gain over an identical copy means nothing

    factor = pictures.zoom_factor(clean.shape[-1], scaled(ROW_PX))  # eight in a row must fit beside the labels
    qualities = [image_quality(clean, output) for output in outputs]
    answer.markdown(short_answer(len(clean), rp.noise_description(kind, level), level, noisy_quality[0],
                                 [(dae.title, qualities[0][0]), (plain.title, qualities[1][0])]))
    with picture:
        image_row("Clean", "held-out images", clean, factor)
        image_row("Noisy", f"{rp.noise_description(kind, level)}, into both models", noisy, factor,
                  noisy_quality)
        for choice, output, quality in ((dae, outputs[0], qualities[0]), (plain, outputs[1], qualities[1])):
            image_row(choice.title, rp.training_note(choice.model.config), output, factor, quality, baseline)
    notes = ["No noise: the last two rows are each model's reconstruction of the clean images." if level == 0
             else "Deltas: the gain over the noisy input."]
    trained_on = dae.model.config.noise
    if trained_on not in ("none", kind):
        notes.append(f"{escape_md(dae.title)} learned to remove {rp.NOISE_TITLES[trained_on].lower()} noise only: "
                     f"{rp.NOISE_TITLES[kind].lower()} noise is new to it.")
    notes.append("The noise is drawn with a fixed seed, so a link to this page shows the same images and noise.")
    st.caption(" ".join(notes))


def short_answer(n: int, noise: str, level: float, noisy_psnr: float, rows: list[tuple[str, float]]) -> str:
    """The page's sentence: PSNR noisy → denoised on the same images, for both models."""
    (dae, dae_psnr), (plain, plain_psnr) = rows
    db = [("∞" if value >= 100 else f"{value:.1f}") + " dB" for value in (dae_psnr, plain_psnr)]
    if level == 0:
        return (f"With no noise, on the same {n} held-out images, **{escape_md(dae)}** rebuilds them at "
                f"**{db[0]}** PSNR and **{escape_md(plain)}** at **{db[1]}**.")
    return (f"On the same {n} held-out images with {noise}, PSNR goes from **{noisy_psnr:.1f} dB** (noisy) to "
            f"**{db[0]}** through **{escape_md(dae)}**, and to **{db[1]}** through **{escape_md(plain)}**.")


choice = current()
st.title("Denoising")
view = st.container()  # the short answer and its picture, above the two pickers they depend on

# Both models denoise the sidebar model's held-out images, so they must take images of that size
# (a user's uploads can come at 28, 32, 48 or 64 pixels).
names = model_names(choice.dataset, where=lambda config: config.input_shape == choice.model.config.input_shape)
dae_default, plain_default = rp.default_pair(choice.dataset, {name: config_of(name) for name in names})
left, right = st.columns(2)
with left:  # how each was trained is said beside its row below
    dae = pick_model("Denoising model", names, dae_default, key="dae")
with right:
    plain = pick_model("Compared with", names, plain_default, key="plain", avoid=dae.name)
if not any(config_of(name).noise != "none" for name in names):
    st.info("No denoising model exists for this dataset yet, so both rows come from models trained on clean "
            "images. Train one with input noise on the Train page to compare.")

data = choice.data
shown = rp.sample_indices(len(data.test), N_IMAGES, IMAGE_SEED)
with view:
    noise_view(data.test[shown], dae, plain)
with st.expander("What a denoising autoencoder is"):
    st.markdown("A **denoising autoencoder** is trained to map a *corrupted* input back to the *clean* image, so it "
                "cannot get away with copying its input: it has to learn what the images look like. Above, the "
                "same noisy held-out images go through a denoising AE and a plain AE trained on clean images only; "
                "PSNR and SSIM compare each row with the clean images.")
lesson.footer("denoising")
