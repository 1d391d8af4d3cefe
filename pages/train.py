"""Train: a fresh autoencoder in the server's training queue, watched while it learns (loss curves, its latent
plane and decoded grid redrawn twice a second), then replayed; Stop keeps the best finished epoch.

Every model trained (or uploaded) here joins this session's model list, so the sidebar offers it on every page,
also when the run ends while the student is on another page. The maths lives in models/; the pool and the runs
in models/jobs/, models/training/job.py and ui/train/runs.py; the live view in ui/train/live.py.
"""

from __future__ import annotations

import streamlit as st

from models.checkpoint import to_bytes
from models.data import heldout_only
from models.data.uploads import UploadCache
from models.errors import DataError
from models.jobs import QueueFull, QueueUnavailable
from models.training.job import TrainSpec, train_job, training_work
from ui import lesson
from ui.legacy_pages import ensure_routed
from ui.projector import presenting
from ui.messages import escape_md, user_errors
from ui.session_models import DATASET_TITLES, INBOX_KEY, ModelChoice, trained_models
from ui.train.controls import sync_speed
from ui.train.fields import training_form
from ui.train.form import (MAX_EPOCHS, MAX_SECONDS, TrainForm, accept_checkpoint_upload, build_configs, check_size,
                           cli_command, describe, epoch_table, epochs_text, few_steps_warning, loss_label, new_name)
from ui.train.intro import app_data, default_run_seconds, epoch_curve, short_answer
from ui.train.live import LAST_RUN_KEY, RUN_KEY, live_panel, replay_panel, seconds_text
from ui.train.runs import MAX_SESSION_MODELS, Inbox, SessionGuard, TrainingRun, add_model, training_pool

LAST_KEY = "train_last"  # how the last run ended, shown until the next one
NOTICE_KEY = "train_notice"  # one-shot message after a checkpoint upload
GUARD_KEY = "train_guard"  # cancels a waiting run when the session ends
UPLOADS_KEY = "train_uploads"  # the session's decoded upload (an UploadCache), reused by its next runs


def session_inbox() -> Inbox:
    """Where this session's finished runs leave their models (ui.sidebar.sidebar delivers them on any page)."""
    return st.session_state.setdefault(INBOX_KEY, Inbox())


def client_address() -> str:
    """Where this browser connects from, for the queue's per-address cap: the first X-Forwarded-For hop behind a
    proxy, else the socket's address ("" on localhost, which has no cap)."""
    forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[0].strip()
    return forwarded or st.context.ip_address or ""


def session_uploads() -> UploadCache:
    """This session's last upload, decoded once as uint8: training again on it (or uploading it again) reuses it."""
    return st.session_state.setdefault(UPLOADS_KEY, UploadCache())


def select_in_sidebar(name: str) -> None:
    """Make the sidebar open `name` on the next run. Its widgets are already drawn in this run, so their
    state cannot be set; dropping it lets the sidebar re-seed both pickers from ?model= instead."""
    for key in ("sidebar_dataset", "sidebar_model"):
        if key in st.session_state:
            del st.session_state[key]
    st.query_params["model"] = name


# --- a run ----------------------------------------------------------------------------------------------
def start_run(form: TrainForm, upload) -> bool:
    """Check the form, load the data and put the run in the server's queue (True when it is there); the live
    panel takes it from there."""
    active = st.session_state.get(RUN_KEY)
    if active is not None and not active.finished:
        st.warning("Your last run has not ended yet: stop it (or cancel it in the queue) before starting another.")
        return False
    with user_errors("reading the form and loading the data") as reading:
        model_config, train_config = build_configs(form)
        check_size(model_config)
        if form.dataset == "user" and upload is None:
            raise DataError("choose a .zip of your images, or pick MNIST or faces")
        with st.spinner("Loading the data…"):
            if form.dataset == "user":
                uploaded = session_uploads().read(upload.getvalue(), (form.image_side, form.image_side),
                                                  name=upload.name)
                data, kept = uploaded, uploaded.heldout  # uint8 to the worker: float32 only in the worker
            else:
                data = app_data(form.dataset)
                kept = heldout_only(data)
        work = training_work(model_config, train_config, len(data.train))
    if reading.failed:
        return False
    name = new_name("trained")
    run = TrainingRun(name=name, dataset=form.dataset, data=kept, model_config=model_config,
                      train_config=train_config, title=describe(model_config),
                      command=cli_command(model_config, train_config, form.dataset, f"pretrained/{name}"),
                      warning=few_steps_warning(len(data.train), train_config.batch_size), inbox=session_inbox())
    spec = TrainSpec(model_config, train_config, data, bundled="mnist" if form.dataset == "mnist" else None,
                     fastest_precision=True)
    try:
        run.job = training_pool().submit(train_job, spec.to_wire(), owner=name, work=work, client=client_address(),
                                         on_message=run.receive, on_end=run.end)
    except QueueFull as exc:
        st.warning(f"The training queue cannot take this run right now: {exc}. Try again in a minute.")
        return False
    except QueueUnavailable as exc:
        st.error(f"Training is unavailable right now: {escape_md(str(exc))}. The other pages keep working.",
                 icon=":material/cloud_off:")
        return False
    st.session_state.setdefault(GUARD_KEY, SessionGuard()).watch(training_pool(), run.job)
    sync_speed(run)  # the session's speed from the run's first step
    st.session_state[RUN_KEY] = run
    return True


def collect_finished_run() -> None:
    """Once this session's run has ended: its model (already in the session's list) is selected in the sidebar,
    how it ended is kept for the panel below the form, and the page reruns so that the sidebar shows it."""
    run: TrainingRun | None = st.session_state.get(RUN_KEY)
    if run is None or not run.finished:
        return
    del st.session_state[RUN_KEY]
    session_inbox().deliver(trained_models())
    outcome, choice = run.outcome, trained_models().get(run.name)
    last = {"title": run.title, "history": outcome.history, "stopped": outcome.stopped, "seconds": outcome.seconds,
            "dataset": run.dataset, "diverged": outcome.diverged, "kept": run.kept_epoch, "source": run.data.source,
            "loss": loss_label(run.model_config), "name": None, "refused": run.refused, "warning": run.warning,
            "waited": run.job.waited, "precision": run.train_config.precision}
    if choice is not None:
        weights, document = to_bytes(choice.model, choice.record)
        last.update(name=run.name, title=choice.title, weights=weights, document=document, command=run.command)
        select_in_sidebar(run.name)
    st.session_state[LAST_KEY] = last
    st.session_state[LAST_RUN_KEY] = run
    st.rerun()


def show_last_run() -> None:
    last = st.session_state.get(LAST_KEY)
    if last is None:
        st.info(f"Choose the settings and press **Train**. The defaults (a dense AE with 256 hidden units and "
                f"a 2-D code, 5 epochs on 4,500 MNIST digits) should take about "
                f"**{seconds_text(default_run_seconds())}** once they start, at the pace of the runs this server "
                f"has trained, plus any wait in the queue.")
        return
    history = last["history"]
    st.subheader(f"Last run: {last['title']}")
    if last.get("warning"):
        st.caption(f"⚠️ {last['warning']}")
    if last["refused"]:
        nothing = f"The trained model was not kept: {last['refused']}. Try a smaller learning rate."
    elif last["name"]:
        nothing = ""
    elif history:
        nothing = "No epoch improved on the untrained model's held-out loss, so no model was kept."
    else:
        nothing = "No epoch finished, so no model was kept."
    if last["diverged"]:
        st.warning(f"**This run diverged**: {last['stopped'].rstrip('.')}. {nothing}", icon=":material/warning:")
    elif last["stopped"]:
        st.warning(f"Training ended early: {last['stopped'].rstrip('.')}. {nothing}")
    elif nothing:
        st.warning(f"Trained {epochs_text(len(history))} in {seconds_text(last['seconds'])}. {nothing}")
    else:
        waited = f" after {last['waited']:.0f} s in the queue" if last.get("waited", 0) >= 1 else ""
        precision = (" in bfloat16 mixed precision (this server's CPU does it natively; the weights stay float32)"
                     if last.get("precision") == "bfloat16" else "")
        st.success(f"Trained {epochs_text(len(history))} in {seconds_text(last['seconds'])}{waited}{precision}.")
    if not history:
        return
    kept = next((h for h in history if h["epoch"] == last["kept"]), history[-1])
    which = "Final held-out loss" if kept is history[-1] else f"Held-out loss of the kept epoch {kept['epoch']}"
    st.markdown(f"{which} **{kept['heldout_loss']:.2f}** (train {kept['train_loss']:.2f}): "
                f"{last['loss']}. The train loss is the mean over the epoch's batches (noisy inputs for a "
                f"denoising model); the held-out loss is measured on clean held-out images after each epoch.  \n"
                f"Data: {escape_md(last['source'])}")
    run = st.session_state.get(LAST_RUN_KEY)
    if run is not None and len(run.frames) >= 2:
        replay_panel(run)  # its loss chart has every epoch's held-out loss
    else:
        st.plotly_chart(epoch_curve(history, f"Loss: {last['loss']}"), key="train_last_curve")
    with st.expander("Every epoch's numbers"):
        st.dataframe(epoch_table(history), hide_index=True)
    if last["name"] is None:
        return
    dataset_title = DATASET_TITLES.get(last["dataset"], last["dataset"])  # as the sidebar names it
    st.markdown(f"It is selected in the sidebar (dataset **{dataset_title}**) and offered on every page for this "
                f"browser session, which keeps your {MAX_SESSION_MODELS} newest models. Download it to keep it: a "
                f"checkpoint is both files.")
    weights_col, json_col, *links = st.columns(4)
    weights_col.download_button("Weights (.safetensors)", last["weights"], f"{last['name']}.safetensors",
                                mime="application/octet-stream", on_click="ignore", icon="⬇️",
                                key="train_download_weights")
    json_col.download_button("Config and record (.json)", last["document"], f"{last['name']}.json",
                             mime="application/json", on_click="ignore", icon="⬇️", key="train_download_json")
    links[0].page_link("pages/reconstructions.py", label="See its reconstructions", icon="🖼️")
    links[1].page_link("pages/latent.py", label="Explore its latent space", icon="🗺️")
    if last["command"]:
        with st.expander("The same training from the command line"):
            st.code(last["command"], language="bash", wrap_lines=True)


# --- checkpoints from elsewhere ------------------------------------------------------------------------
def checkpoint_upload() -> None:
    with st.expander("Load a checkpoint trained elsewhere (.safetensors + .json)",
                     expanded=NOTICE_KEY in st.session_state):
        notice = st.session_state.pop(NOTICE_KEY, None)
        if notice:
            st.success(notice)
        with st.form("train_checkpoint_form", border=False):
            files = st.file_uploader("Both files of one checkpoint, e.g. from the downloads above or "
                                     "`python -m models.train … --out NAME`", type=["safetensors", "json"],
                                     accept_multiple_files=True, key="train_checkpoint_files")
            if not st.form_submit_button("Add to this session's models", key="train_checkpoint_submit"):
                return
        checking = st.spinner("Checking the checkpoint on held-out images…")
        with user_errors("reading the checkpoint") as reading, checking:
            uploaded, data, record = accept_checkpoint_upload([(f.name, f.getvalue()) for f in files or []],
                                                              app_data)
        if reading.failed:
            return
        name = new_name("uploaded")
        title = add_model(trained_models(),
                          ModelChoice(name=name, title=f"{uploaded.stem}: {describe(uploaded.model.config)}",
                                      dataset=uploaded.dataset, model=uploaded.model, record=record, data=data,
                                      purpose="uploaded checkpoint", trained_here=False),
                          session_inbox().dropped).title
        scored = ""
        if record["heldout_scoring_note"]:
            scored = (f" Its held-out loss was measured on {record['heldout_images_scored']:,} of "
                      f"{len(data.test):,} images: {record['heldout_scoring_note']}.")
        st.session_state[NOTICE_KEY] = (f"Added {escape_md(title)}; {escape_md(uploaded.note)}. It is selected in "
                                        f"the sidebar and offered on every page for this session.{scored}")
        select_in_sidebar(name)
        st.rerun()


def training_queue():
    """The training queue, or None after saying why there is none (Redis unreachable): the form, uploads of
    trained models and every other page keep working."""
    try:
        return training_pool()
    except QueueUnavailable as exc:
        st.error(f"Training is unavailable right now: {escape_md(str(exc))}. Try again in a minute; uploading a "
                 f"trained model below and every other page keep working.", icon=":material/cloud_off:")
        return None


def dropped_notices() -> None:
    """Models the session's cap removed (when a newer one arrived), said once."""
    inbox = session_inbox()
    while inbox.dropped:
        title = inbox.dropped.pop(0)
        st.warning(f"This session keeps your {MAX_SESSION_MODELS} newest models: **{escape_md(title)}** was the oldest "
                   f"and has been removed. Download a model from this page to keep it.", icon=":material/delete:")


def how_training_works(pool) -> None:
    with st.expander("How training works here: the queue, the caps, where your model goes"):
        at_once = "**none can train right now**" if pool is None else f"**{pool.workers} train at a time**"
        st.markdown(f"Train a fresh model and watch it learn: its loss curves, latent map and "
                    f"decoded grid redraw while it trains; pause it, step it one batch at a time, or slow it down. "
                    f"Runs wait their turn in one queue for the whole class, "
                    f"and {at_once}; you see your place in the queue. A run "
                    f"has at most **{MAX_EPOCHS} epochs** and **{MAX_SECONDS:.0f} seconds** (it keeps its best "
                    f"finished epoch when it hits the cap). What you train is yours for this browser session: it "
                    f"appears in the sidebar on every page, even if you leave this page while it trains.")


def settings_form(live: bool, folded: bool):
    """The form: in place, or folded into an expander under the live view (while a run is live, and in
    projector mode, where the run is what the class looks at)."""
    if not folded:
        return training_form()
    if live:
        label = "Settings (a new run can start when this one ends)"
    else:
        label = "Settings for a new run"
    with st.expander(label, expanded=not live and LAST_KEY not in st.session_state, icon=":material/tune:"):
        return training_form()


def main() -> None:
    ensure_routed()
    collect_finished_run()  # a run that ended (here or while the student was elsewhere): show how
    st.title("🏋️ Train an autoencoder")
    live = st.session_state.get(RUN_KEY) is not None  # waiting or training, not yet collected
    folded = live or presenting()
    top = st.container()  # folded: the live view (or the last run) above everything else
    if not folded:
        short_answer()
    pool = training_queue()
    if not folded:
        how_training_works(pool)
    dropped_notices()
    form, upload, submitted = settings_form(live, folded)
    if submitted and pool is not None and start_run(form, upload) and not live:
        st.rerun()  # the new run's live view takes the top of the page and the form folds away
    with top:
        if live:
            live_panel()
        elif folded:
            show_last_run()
    if not folded:
        show_last_run()
    else:
        how_training_works(pool)
        if not live:
            short_answer()  # projector mode: the shipped model's curve, under what the class is looking at
    checkpoint_upload()
    lesson.footer("train")

main()
