"""The Train page's live view: a waiting run's place in the queue, a running run's loss curves, latent plane and
decoded grid redrawn from its newest frame twice a second, and after the run a scrubber that replays its frames.

Each redraw is a rerun of a fragment: the plane keeps its key and plane id, so a new frame's payload swaps the
decoder and codes in place in the browser (ui/latent_plane), without rebuilding the plane.
"""

from __future__ import annotations

import base64
import html
import math

from ui import pandas_first  # noqa: F401 (before plotly: see that module)
import plotly.graph_objects as go
import streamlit as st

from models.jobs import QUEUED, QueueUnavailable
from ui.latent_plane import plane
from ui.pictures import enlarge, png_bytes, zoom_factor
from ui.train import controls
from ui.train.form import TERM_NAMES
from ui.train.runs import Frame, TrainingRun, training_pool

LIVE_SECONDS = 0.5  # a running run's view redraws this often
PLAY_SECONDS = 0.4  # a replay shows a frame this long
RUN_KEY = "train_run"  # the session's run that has not been collected yet
LAST_RUN_KEY = "train_last_run"  # the last collected run, for its replay
FRAME_KEY, PLAYING_KEY = "train_replay_frame", "train_replay_playing"
MOSAIC_PX = 300


def seconds_text(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def queue_text(position: int, wait: float, expected: float, running: int, workers: int,
               place: str = "this server") -> str:
    ahead = "You are next" if position == 1 else f"{position - 1} run{'s' if position > 2 else ''} ahead of yours"
    return (f"**Waiting for a free trainer: you are number {position} in the queue.** {ahead}; {place} trains "
            f"{workers} run{'s' if workers > 1 else ''} at a time ({running} training now). Yours should start in "
            f"about {seconds_text(wait)} and then take about {seconds_text(expected)}. You can leave this page: "
            f"the run goes on, and its model joins your list when it ends.")


# --- figures ---------------------------------------------------------------------------------------------------
def loss_figure(points: list[dict], curve: list[dict], history: list[dict], marker: float | None = None) -> go.Figure:
    """Training loss over the last few batches, and held-out loss at each frame and at each epoch's end."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[p["epoch"] for p in points], y=[p["train_loss"] for p in points],
                             name="train (recent batches)", mode="lines", line=dict(width=1.5)))
    fig.add_trace(go.Scatter(x=[c["epoch"] for c in curve], y=[c["loss"] for c in curve], name="held-out sample",
                             mode="lines", line=dict(width=2)))
    fig.add_trace(go.Scatter(x=[h["epoch"] for h in history], y=[h["heldout_loss"] for h in history],
                             name="held-out, epoch end", mode="markers", marker=dict(size=9, symbol="diamond")))
    return _layout(fig, "Loss per image", marker)


def terms_figure(curve: list[dict], marker: float | None = None) -> go.Figure:
    """Each term of the held-out loss as its own curve (log scale when there are several: a KL of 5 beside a
    reconstruction of 150)."""
    fig = go.Figure()
    terms = [t for t in TERM_NAMES if curve and t in curve[-1]]
    for term in terms:
        fig.add_trace(go.Scatter(x=[c["epoch"] for c in curve], y=[max(c[term], 1e-12) for c in curve],
                                 name=TERM_NAMES[term], mode="lines"))
    fig = _layout(fig, "Held-out loss terms (unweighted)", marker)
    if len(terms) > 1:
        fig.update_yaxes(type="log")
    return fig


def _layout(fig: go.Figure, title: str, marker: float | None) -> go.Figure:
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="epoch",
                      legend=dict(orientation="h", y=-0.25), uirevision="keep")  # keeps a user's zoom
    if marker is not None:
        fig.add_vline(x=marker, line=dict(color="#888", dash="dash"))
    return fig


def elbo_text(terms: dict[str, float], loss: str) -> str | None:
    """A VAE's evidence lower bound per held-out image, −(recon + KL), whatever β weighs the KL with in training."""
    if "kl" not in terms or not all(math.isfinite(terms[k]) for k in ("recon", "kl")):
        return None
    return f"{-(terms['recon'] + terms['kl']):,.1f}" + (" nats" if loss == "bce" else " + const")


def inline_image(image, caption: str, width: int) -> str:
    """An image inside the HTML itself: st.image's media URL of a replaced frame can 404 when the browser asks
    for it after the next frame (twice a second) has replaced it."""
    data = base64.b64encode(png_bytes(image)).decode()
    return (f'<figure class="aex-train-grid" style="margin:0"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(caption)}" style="width:{width}px;max-width:100%;image-rendering:pixelated"/>'
            f'<figcaption style="font-size:0.85rem;opacity:0.7">{html.escape(caption)}</figcaption></figure>')


# --- one frame: plane, decoded grid, numbers, curves -----------------------------------------------------------
def draw_frame(run: TrainingRun, frame: Frame | None, marker: float | None = None) -> None:
    points, curve, _, _ = run.snapshot()
    if frame is not None:
        left, right = st.columns([2, 1], gap="medium")
        with left:
            problem = run.plane_problem()
            if problem is None:
                plane(run.cached_payload(frame), key="train_plane")
                shown = run.plane_frame(frame)
                st.caption("Held-out codes (the legend says what their colour means), drawn from "
                           + ("this moment's model" if frame.weights_every == 1 else
                              f"the model at epoch {shown.epoch:.1f} (its decoder is over 1 MB even as float16, so "
                              f"one frame in {frame.weights_every} brings it to your browser)")
                           + (" on its first two principal directions" if shown.pca is not None else "")
                           + ". Point at the plane to decode there, in your browser.")
            else:
                st.caption(f"No latent plane for this run: {problem}.")
        with right:
            image = frame.mosaic
            where = "over ±2σ of PC1 and PC2" if frame.pca is not None else "across the codes"
            st.html(inline_image(enlarge(image, zoom_factor(image.shape[0], MOSAIC_PX)),
                                 f"Decoded grid {where} · {frame.title((run.start or {}).get('batches'))}", MOSAIC_PX))
            # One under the other: side by side, a third of a 1280-px page cut their labels short.
            st.metric("Held-out loss (sample)", f"{frame.terms['loss']:,.1f}")
            elbo = elbo_text(frame.terms, run.model_config.loss)
            if elbo is not None:
                st.metric("ELBO per image", elbo, help="−(reconstruction + KL) on held-out images: a lower "
                                  "bound on log p(x). Training minimises recon + β·KL; the ELBO is the β = 1 case.")
    several = len([t for t in TERM_NAMES if curve and t in curve[-1]]) > 1  # else the terms are just the loss
    charts = st.columns(2) if several else [st.container()]
    charts[0].plotly_chart(loss_figure(points, curve, run.history, marker), key="train_loss_chart")
    if several:
        charts[1].plotly_chart(terms_figure(curve, marker), key="train_terms_chart")


# --- while it waits or trains ----------------------------------------------------------------------------------
@st.fragment(run_every=LIVE_SECONDS)
def live_panel() -> None:
    run: TrainingRun | None = st.session_state.get(RUN_KEY)
    if run is None:
        return
    if run.finished:
        st.rerun()  # the whole page: it collects the run and shows how it ended
    job = run.job
    st.subheader(f"Training {run.title}")
    if run.warning:
        st.warning(run.warning, icon=":material/warning:")
    try:
        pool = training_pool()
        if job.state == QUEUED:
            position, wait = pool.position(job), pool.wait_estimate(job)
            if position is not None and wait is not None:
                running, _ = pool.counts()
                st.info(queue_text(position, wait, job.expected, running, pool.workers, pool.place),
                        icon=":material/hourglass:")
        left = pool.remaining_seconds(job)
    except QueueUnavailable as exc:  # Redis is away: say so, and keep drawing what the run has sent
        st.warning(f"{exc}; your run's place and time left will show again when it answers.",
                   icon=":material/cloud_off:")
        left = None
    if job.state == QUEUED:
        st.button("Cancel", key="train_cancel", icon="✖️", on_click=controls.cancel, args=(run,),
                  help="Leaves the queue; nothing is trained.")
        return
    steps = run.train_config.epochs * (run.start or {}).get("batches", 1)
    st.progress(min(1.0, run.batches_done() / steps), text=controls.counter_text(run, left, seconds_text))
    controls.controls(run)
    draw_frame(run, run.latest)


# --- after it: replay the frames -------------------------------------------------------------------------------
def replay_panel(run: TrainingRun) -> None:
    if len(run.frames) < 2:
        return
    st.markdown(f"**Replay the run**: {len(run.frames)} frames kept of the {run.frames_seen} drawn while it trained.")
    (_replay_playing if st.session_state.get(PLAYING_KEY) else _replay_still)()


@st.fragment
def _replay_still() -> None:
    _replay(advance=False)


@st.fragment(run_every=PLAY_SECONDS)
def _replay_playing() -> None:
    _replay(advance=True)


def _replay(advance: bool) -> None:
    run: TrainingRun | None = st.session_state.get(LAST_RUN_KEY)
    if run is None:
        return
    frames = run.frames
    last = len(frames) - 1
    if FRAME_KEY not in st.session_state or not 0 <= st.session_state[FRAME_KEY] <= last:
        st.session_state[FRAME_KEY] = last
    if advance:
        if st.session_state[FRAME_KEY] >= last:
            st.session_state[PLAYING_KEY] = False
            st.rerun(scope="app")  # back to the still scrubber
        st.session_state[FRAME_KEY] += 1
    slider, button = st.columns([5, 1], vertical_alignment="bottom")
    index = slider.select_slider("Frame", options=list(range(len(frames))), key=FRAME_KEY,
                                 format_func=lambda i: frames[i].title())
    if button.button("Pause" if advance else "Play", icon="⏸️" if advance else "▶️", key="train_replay_button"):
        st.session_state[PLAYING_KEY] = not advance
        if not advance and index >= last:
            st.session_state[FRAME_KEY] = 0
        st.rerun(scope="app")
    draw_frame(run, frames[index], marker=frames[index].epoch)

