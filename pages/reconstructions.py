"""Reconstructions: held-out images beside what the sidebar's model makes of them, and the user's own input."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from models.data import photos
from models.errors import AutoencoderError
from ui import lesson, pictures
from ui.latent.explore import draw_plane, free_pin
from ui.latent_plane.views import codes_plane
from ui.messages import escape_md
from ui.projector import scaled
from ui.query import drop_query, query_choice, query_int, set_query, state_from_query
from ui.reconstructions import plots as rp
from ui.session_models import DATASET_TITLES, ModelChoice, current, held_out_codes

ALL = "all"
PER_ROW = 8  # pairs a row on a wide screen; on a phone one row is a page, two pairs a line (ui/projector.py)
N_MIN, N_MAX, N_STEP, N_DEFAULT = 8, 32, 4, 16
SEED_MAX = 2**31 - 1
OWN_SIZE = 150  # pixels, about, for the user's image and its reconstruction
PAIR_PX = 96  # an original above its reconstruction: 28 → 3×, 64 → 2× (larger in projector mode)
INPUT_TABS = ["Upload an image", "Draw a digit"]
OWN_CODE = "your image's code"


@st.cache_data(show_spinner="Reconstructing the held-out images…", max_entries=16)
def heldout_outputs(key: str, _choice: ModelChoice) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Reconstructions, errors and codes of the whole held-out set, once per model: reshuffling then only
    indexes. The codes are the shared cached ones the other pages use."""
    codes = held_out_codes(_choice)
    x_hat = _choice.model.decode_codes(codes)
    return x_hat, _choice.model.per_sample_error(_choice.data.test, x_hat).numpy(), codes.numpy()


def outputs(choice: ModelChoice) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    return heldout_outputs(choice.cache_key, choice)


def reshuffle() -> None:
    st.session_state["recon_seed"] = (st.session_state["recon_seed"] + 1) % SEED_MAX
    st.session_state["recon_page"] = 1  # a new sample starts on its first page


def pager(count: int) -> int:
    """On a phone the gallery shows one row of PER_ROW pairs at a time: which one (1-based), kept in the URL as
    ?page=. Wider screens show every row and never see the pager (ui/projector.py PHONE_CSS)."""
    pages = -(-count // PER_ROW)
    state_from_query("recon_page", query_int("page", 1, 1, pages))
    if not 1 <= st.session_state["recon_page"] <= pages:  # fewer images than when it was picked
        st.session_state["recon_page"] = 1
    page = st.session_state["recon_page"] if pages > 1 else 1  # its control is drawn under the gallery
    if page > 1:
        set_query(page=page)
    else:
        drop_query("page")
    return page


def pager_control(count: int) -> None:
    """The pager under the gallery (the page opens on its picture, never on a control)."""
    pages = -(-count // PER_ROW)
    if pages > 1:
        st.segmented_control("Images", range(1, pages + 1), required=True, key="recon_page",
                             format_func=lambda p: f"{(p - 1) * PER_ROW + 1}–{min(p * PER_ROW, count)}")


def class_filter(choice: ModelChoice) -> int | None:
    """The class selectbox (hidden for unlabelled data): None for all classes, else the class index."""
    names = choice.label_names
    if not names or choice.data.test_labels is None:
        return None
    present = set(choice.data.test_labels.tolist())  # a small upload may hold out no image of some class
    options = [ALL, *(name for i, name in enumerate(names) if i in present)]
    state_from_query("recon_class", query_choice("class", options, ALL))
    if st.session_state["recon_class"] not in options:  # the sidebar switched to data with other classes
        st.session_state["recon_class"] = ALL
    picked = st.selectbox("Class", options, key="recon_class")
    set_query(**{"class": picked})
    return None if picked == ALL else names.index(picked)


@st.fragment
def gallery(choice: ModelChoice) -> None:
    data, config = choice.data, choice.model.config
    what = rp.error_label(config)
    state_from_query("recon_seed", query_int("seed", 0, 0, SEED_MAX))
    n_from_url = query_int("n", N_DEFAULT, N_MIN, N_MAX)
    state_from_query("recon_n", N_MIN + N_STEP * round((n_from_url - N_MIN) / N_STEP))

    answer, picture = st.empty(), st.container()  # the short answer first, the controls under it
    pick, count, shuffle = st.columns([2, 3, 1], vertical_alignment="bottom")
    with pick:
        cls = class_filter(choice)
    n = count.slider("Number of images", N_MIN, N_MAX, step=N_STEP, key="recon_n")
    shuffle.button("Reshuffle", on_click=reshuffle, key="recon_reshuffle", help="Draw another random sample",
                   width="stretch")
    seed = st.session_state["recon_seed"]
    set_query(seed=seed, n=n)

    labels = None if data.test_labels is None else data.test_labels.numpy()
    index = rp.sample_indices(len(data.test), n, seed, labels, cls)
    x_hat, errors, _ = outputs(choice)
    originals, reconstructions = pictures.to_uint8(data.test[index]), pictures.to_uint8(x_hat[index])
    factor = pictures.zoom_factor(originals.shape[-1], scaled(PAIR_PX))

    which = "" if cls is None else f" of class {escape_md(repr(choice.label_names[cls]))}"
    answer.markdown(f"On all **{len(errors)} held-out images** it never trained on, **{escape_md(choice.title)}** "
                    f"rebuilds each with a mean {what} of **{errors.mean():.3g}**; below, {len(index)} of them"
                    f"{which}, the original above its reconstruction.")
    note = " (decoded from the mean code μ(x); the training loss adds the KL term)" if choice.model.has_prior else ""
    with picture:
        if cls is not None and len(index) < n:
            st.info(f"Only {len(index)} held-out images{which}: showing all of them.")
        with st.container(key="recon_gallery"):
            page = pager(len(index))
            for row, start in enumerate(range(0, len(index), PER_ROW)):
                # A phone hides every row but the page's (the key names it): the images are all here already.
                with st.container(key="recon_row_on" if row == page - 1 else f"recon_row_off_{row}"):
                    for column, i in zip(st.columns(PER_ROW), range(start, min(start + PER_ROW, len(index)))):
                        tag = choice.label_names[labels[index[i]]] if labels is not None and choice.label_names \
                            else f"#{index[i]}"
                        column.image(rp.stack_pair(originals[i], reconstructions[i], factor), output_format="PNG",
                                     caption=f"{escape_md(tag)} · {errors[index[i]]:.3g}", clamp=True)
            pager_control(len(index))
    with st.expander("How to read the gallery"):
        st.caption(f"Top: a held-out image the model never trained on. Bottom: its reconstruction by "
                   f"**{escape_md(choice.title)}**{note}. Under each: its class and the model's own loss, **{what}**"
                   f"{' (summed over pixels, in nats)' if config.loss == 'bce' else ''}.")

    shown, overall, download = st.columns([2, 2, 1], vertical_alignment="center")
    shown.metric(f"Mean {what}, these {len(index)}", f"{errors[index].mean():.3g}")
    overall.metric(f"Mean {what}, all {len(errors)} held out", f"{errors.mean():.3g}")
    download.download_button(
        "Download PNG", pictures.png_bytes(rp.comparison_grid(originals, reconstructions, PER_ROW, factor)),
        file_name=f"reconstructions_{choice.name}_seed{seed}.png", mime="image/png", key="recon_download",
        on_click="ignore", icon=":material/download:", help="The originals and reconstructions shown, as one picture")


def show_own(choice: ModelChoice, x: torch.Tensor, source: np.ndarray | None, source_caption: str) -> None:
    """What the model makes of one user image: the input it sees, its code and its reconstruction."""
    model = choice.model
    with torch.no_grad():
        z = model.embed(x)
        x_hat = model.decode_codes(z)
        error = float(model.per_sample_error(x, x_hat)[0])
    factor = max(1, scaled(OWN_SIZE) // x.shape[-1])
    columns = st.columns([1, 1, 1, 2] if source is not None else [1, 1, 2])
    if source is not None:
        columns[0].image(source, caption=source_caption, clamp=True, width=scaled(OWN_SIZE))
        columns = columns[1:]
    side = factor * x.shape[-1]  # an explicit width: a long caption would otherwise stretch one image
    columns[0].image(pictures.enlarge(pictures.to_uint8(x)[0], factor), caption="What the model sees", clamp=True,
                     width=side)
    columns[1].image(pictures.enlarge(pictures.to_uint8(x_hat)[0], factor),
                     caption=f"Reconstruction · {rp.error_label(model.config)} {error:.3g}", clamp=True, width=side)
    with columns[2]:
        code = z[0].numpy()
        if len(code) == 2:
            codes, key = held_out_codes(choice), "own_draw" if source is None else "own_upload"
            mine = (float(code[0]), float(code[0]), float(code[1]), float(code[1]))
            plane_id = draw_plane(choice, key, codes_plane(codes), codes, codes)  # the same payload for any image
            # The plane opens pinned at this image's code, so its decode there is the reconstruction beside it.
            free_pin(choice, codes, key, plane_id, [{"point": [mine[0], mine[2]], "label": "your image"}],
                     f"The plane opens at your image's code z = ({code[0]:.2f}, {code[1]:.2f}) (the ring) among "
                     f"the held-out codes. Point at the plane to decode any z in your browser; click to pin one.",
                     extent=codes_plane(codes, [mine]).extent,  # wide enough to show this image's code
                     start=(float(code[0]), float(code[1])), start_name=OWN_CODE)
        else:
            st.bar_chart(pd.DataFrame({"value": code}, index=pd.RangeIndex(1, len(code) + 1, name="code unit")),
                         height=220)
            st.caption(f"Its code: {len(code)} numbers{' (the mean μ of q(z|x))' if model.has_prior else ''}")


@st.fragment
def own_input(choice: ModelChoice) -> None:
    shape = choice.model.config.input_shape
    digits = choice.dataset == "mnist"
    # The open tab is in the URL (?input=…). Both are drawn: the hidden one keeps its upload or drawing.
    upload_tab, draw_tab = st.tabs(INPUT_TABS, key="input", bind="query-params")
    with upload_tab:
        upload_input(choice, shape, digits)
    with draw_tab:
        draw_input(choice, shape, digits)


def upload_input(choice: ModelChoice, shape: tuple, digits: bool) -> None:
    uploaded = st.file_uploader("A PNG or JPEG image", type=["png", "jpg", "jpeg"], key="upload")
    if digits:
        st.caption("A photo of a dark digit on white paper works: it is turned to gray, inverted when its "
                   "background is light (MNIST digits are light on black), cleaned of background and centred "
                   f"in {shape[1]}×{shape[2]} as MNIST digits are.")
    else:
        st.caption(f"The photo is turned to gray, centre-cropped and resized to {shape[1]}×{shape[2]}.")
    if uploaded is not None:
        try:
            x, gray, notes = photos.prepare_upload(uploaded.getvalue(), uploaded.name, shape, digits)
        except AutoencoderError as error:
            st.error(f"Could not use this upload: {escape_md(error)}")
        else:
            st.caption("Done to your image: " + "; ".join(notes) + ".")
            show_own(choice, x, gray, "Your upload")


def draw_input(choice: ModelChoice, shape: tuple, digits: bool) -> None:
    if not digits:
        st.info(f"Drawing is for digits, and {escape_md(choice.title)} was trained on "
                f"{DATASET_TITLES.get(choice.dataset, choice.dataset)}: pick an MNIST model in the sidebar, "
                "or upload a photo in the first tab.")
        return
    from streamlit_drawable_canvas import st_canvas  # noqa: PLC0415  (a streamlit component: page-only)

    st.caption("Draw a digit in the black box with the mouse (or a finger); the toolbar over the box undoes "
               f"and clears. The drawing is fitted into 20×20 and centred by its centre of mass in "
               f"{shape[1]}×{shape[2]}, as MNIST digits are.")
    st.space("small")  # room for the canvas's toolbar, which floats above the box
    pad, draw_result = st.columns([2, 3])
    with pad:
        canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000", width=280,
                           height=280, drawing_mode="freedraw", return_image_data=True, key="draw")
    with draw_result:
        try:
            x = photos.drawing_to_input(canvas.image_data, shape)
        except AutoencoderError as error:
            st.error(f"Could not read the drawing: {escape_md(error)}")
            return
        if x is not None:
            show_own(choice, x, None, "")


choice = current()
st.title("Reconstructions")
gallery(choice)
st.subheader("Your own input")
own_input(choice)
lesson.footer("reconstructions")
