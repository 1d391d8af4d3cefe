"""Train: a fresh autoencoder on this server's CPU with a live loss curve; Stop keeps the best finished epoch.

Every model trained (or uploaded) here joins this session's model list, so the sidebar offers it on every
page. The maths lives in models/ and the plain helpers in pages/train_support.py.
"""

from __future__ import annotations

import streamlit as st

from models.checkpoint import to_bytes
from models.data import load_user_images
from models.errors import AutoencoderError, DataError
from models.sanity import behaviour_problem
from pages.common import (DATASET_TITLES, ModelChoice, ensure_routed, escape_md, load_data, report_unexpected,
                          show_error, trained_models)
from pages.figures import loss_curve
from pages.train_support import (BATCH_SIZES, BUSY_MESSAGE, DATASETS, LEARNING_RATES, MAX_EPOCHS, MAX_SECONDS,
                                 REGULARISERS, TRAIN_LOCK, USER_SIDES, TrainForm, TrainingRun,
                                 accept_checkpoint_upload, build_configs, describe, epoch_table, epochs_text,
                                 fresh_model, loss_label, new_name, run_training)

RUN_KEY = "train_run"  # the TrainingRun under way; still here on the next run if a click interrupted it
LAST_KEY = "train_last"  # how the last run ended, shown until the next one
NOTICE_KEY = "train_notice"  # one-shot message after a checkpoint upload
DEFAULTS = TrainForm()
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "identity")
CODE_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
NOISES = {"gaussian": "Gaussian", "masking": "masking", "salt_pepper": "salt and pepper"}


def app_data(dataset: str):
    """The held-out data the sidebar's models of this dataset use (shared, cached)."""
    return load_data(dataset, "bundled" if dataset == "mnist" else "auto")


def unique_title(title: str, name: str) -> str:
    """The title, with the name's short id added only when this session already has a model of that title."""
    taken = {choice.title for choice in trained_models().values()}
    return f"{title} · #{name.rsplit('-', 1)[-1]}" if title in taken else title


def select_in_sidebar(name: str) -> None:
    """Make the sidebar open `name` on the next run. Its widgets are already drawn in this run, so their
    state cannot be set; dropping it lets the sidebar re-seed both pickers from ?model= instead."""
    for key in ("sidebar_dataset", "sidebar_model"):
        if key in st.session_state:
            del st.session_state[key]
    st.query_params["model"] = name


def epoch_curve(history: list[dict], title: str):
    """figures.loss_curve with whole-number epoch ticks (plotly would label 1, 1.2, 1.4, … for two epochs)."""
    return loss_curve(history, title=title).update_xaxes(tick0=1, dtick=-(-len(history) // 10))


# --- the form ----------------------------------------------------------------------------------------
def training_form():
    """Draw the form; returns (TrainForm, uploaded zip or None, submitted)."""
    d = DEFAULTS
    with st.form("train_form", border=True):
        data_col, model_col, reg_col = st.columns(3, gap="large")
        with data_col:
            st.markdown("**Data**")
            dataset = st.radio("Dataset", list(DATASETS), format_func=DATASETS.get, key="train_dataset")
            upload = st.file_uploader("Your images: one .zip of PNG/JPEG files (sub-folders become labels)",
                                      type=["zip"], key="train_upload")
            side = st.select_slider("Your images are resized to (pixels, square, grayscale)", USER_SIDES,
                                    value=d.image_side, key="train_side")
            st.markdown("**Training**")
            epochs = st.slider("Epochs", 1, MAX_EPOCHS, d.epochs, key="train_epochs")
            lr = st.select_slider("Learning rate (Adam)", LEARNING_RATES, value=d.lr, format_func=lambda v: f"{v:g}",
                                  key="train_lr")
            batch_size = st.select_slider("Batch size", BATCH_SIZES, value=d.batch_size, key="train_batch")
            seed = st.number_input("Seed (initial weights, batch order, noise)", value=d.seed, step=1,
                                   key="train_seed")
        with model_col:
            st.markdown("**Model**")
            kind = st.radio("Kind", ["ae", "vae"], format_func={"ae": "AE", "vae": "VAE"}.get, horizontal=True,
                            key="train_kind")
            arch = st.radio("Architecture", ["dense", "conv"], horizontal=True, key="train_arch",
                            format_func={"dense": "dense", "conv": "convolutional"}.get)
            latent = st.number_input("Latent size (code units), 1 to 256", value=d.latent, step=1, key="train_latent")
            hidden = st.text_input("Hidden sizes", d.hidden, key="train_hidden",
                                   help="Dense: layer widths from the input inwards, e.g. 512, 256; leave empty "
                                        "for a single layer. Convolutional: channels of each stride-2 layer, "
                                        "e.g. 32, 64.")
            activation = st.selectbox("Hidden activation", HIDDEN_ACTIVATIONS, key="train_activation")
            code_activation = st.selectbox("Code activation (AE only: a VAE's code is its mean)", CODE_ACTIVATIONS,
                                           key="train_code_activation",
                                           help="KL sparsity needs a sigmoid code.")
            loss = st.radio("Reconstruction loss", ["bce", "mse"], horizontal=True, key="train_loss",
                            format_func={"bce": "binary cross-entropy", "mse": "½ squared error"}.get)
            tied = st.checkbox("Tied weights W′ = Wᵀ (dense only)", d.tied, key="train_tied")
            beta = st.number_input("β: weight of the KL term (VAE only), 0 to 100", value=d.beta, step=0.5,
                                   key="train_beta")
        with reg_col:
            st.markdown("**Regulariser**")
            regulariser = st.selectbox("Regulariser", list(REGULARISERS), format_func=REGULARISERS.get,
                                       key="train_regulariser")
            noise = st.selectbox("Noise (denoising)", list(NOISES), format_func=NOISES.get, key="train_noise")
            noise_level = st.number_input("Noise level (denoising): Gaussian σ up to 5, or the fraction of pixels "
                                          "hit", value=d.noise_level, step=0.05, key="train_noise_level")
            weight = st.number_input("Penalty weight λ (sparse, contractive), 0 to 1000", value=d.weight, step=0.1,
                                     key="train_weight")
            rho = st.number_input("Target mean activation ρ (KL sparsity), 0.001 to 0.999", value=d.rho, step=0.01,
                                  format="%.3f", key="train_rho")
            st.caption("Only the settings of the chosen regulariser are used.")
        submitted = st.form_submit_button("Train", type="primary", icon="🏋️", key="train_submit")
    form = TrainForm(dataset=dataset, image_side=side, kind=kind, arch=arch, latent=latent, hidden=hidden,
                     activation=activation, code_activation=code_activation, tied=tied, loss=loss, beta=beta,
                     regulariser=regulariser, noise=noise, noise_level=noise_level, weight=weight, rho=rho,
                     epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    return form, upload, submitted


# --- a run -------------------------------------------------------------------------------------------
def train_from_form(form: TrainForm, upload) -> None:
    try:
        model_config, train_config = build_configs(form)
        if form.dataset == "user" and upload is None:
            raise DataError("choose a .zip of your images above, or pick MNIST or faces")
        # Decoding an upload happens before taking the lock, so a slow zip never blocks other users' runs.
        with st.spinner("Loading the data…"):
            data = (load_user_images(upload.getvalue(), image_size=(form.image_side, form.image_side),
                                     name=upload.name)
                    if form.dataset == "user" else app_data(form.dataset))
    except AutoencoderError as exc:
        show_error(exc)
        return
    except Exception as exc:  # noqa: BLE001  (anything else: a short message, the traceback in the log)
        report_unexpected(exc, "reading the form and loading the data")
        return
    if not TRAIN_LOCK.acquire(blocking=False):
        st.warning(BUSY_MESSAGE)
        return
    run = None
    try:
        model = fresh_model(model_config, form.seed)
        run = TrainingRun(name=new_name("trained"), dataset=form.dataset, data=data, model_config=model_config,
                          train_config=train_config)
        st.session_state[RUN_KEY] = run
        live_view(run, model)
    except AutoencoderError as exc:  # a model the data cannot feed
        st.session_state.pop(RUN_KEY, None)
        show_error(exc)
        return
    except Exception as exc:  # noqa: BLE001
        st.session_state.pop(RUN_KEY, None)
        report_unexpected(exc, "training")
        return
    finally:
        TRAIN_LOCK.release()
        if run is not None:
            run.exited.set()
    settle_pending_run()


def live_view(run: TrainingRun, model) -> None:
    """Train with a progress bar, a Stop button, and the loss curve and per-epoch numbers in fixed slots."""
    epochs = run.train_config.epochs
    st.subheader(f"Training {describe(run.model_config)}")
    st.caption(f"{sum(p.numel() for p in model.parameters()):,} parameters · {escape_md(run.data.source)}")
    progress = st.progress(0.0, text="Starting…")
    st.button("Stop training", key="train_stop", icon="⏹️",
              help="Stops within a second and keeps the weights of the last finished epoch.")
    chart_col, table_col = st.columns([3, 2])
    curve, table = chart_col.empty(), table_col.empty()
    title = f"Loss: {loss_label(run.model_config)}"

    def on_epoch(stats: dict) -> None:
        progress.progress(stats["epoch"] / epochs,
                          text=f"epoch {stats['epoch']} of {epochs} · train {stats['train_loss']:.2f} · "
                               f"held-out {stats['heldout_loss']:.2f} · {stats['seconds']:.0f} s")
        curve.plotly_chart(epoch_curve(run.history, title), key=f"train_live_curve_{stats['epoch']}")
        table.dataframe(epoch_table(run.history), hide_index=True)

    run_training(run, model, on_epoch, tick=lambda fraction, text: progress.progress(fraction, text=text))


def settle_pending_run() -> None:
    """Turn the pending run's best finished epoch into this session's model, remember how the run ended,
    and rerun so that the sidebar lists (and selects) the new model."""
    run: TrainingRun | None = st.session_state.pop(RUN_KEY, None)
    if run is None:
        return
    # With fast reruns an interrupted run's thread may still be inside its batch; it lets go within a tick.
    run.exited.wait(timeout=10)
    outcome = run.outcome()
    model = run.trained_model()
    last = {"title": describe(run.model_config), "history": outcome.history, "stopped": outcome.stopped,
            "seconds": outcome.seconds, "dataset": run.dataset, "diverged": outcome.diverged,
            "kept": run.kept_epoch, "source": run.data.source, "loss": loss_label(run.model_config), "name": None,
            "refused": None}
    problem = None if model is None else behaviour_problem(model, run.data.test)
    if problem:  # finite losses can still come with codes no page can draw
        last["refused"], model = problem, None
    if model is not None:
        record = run.record()
        done = len(outcome.history)
        kept = "" if run.kept_epoch == done else f", kept epoch {run.kept_epoch}"
        title = unique_title(f"{last['title']}, {epochs_text(done)}{kept}", run.name)
        trained_models()[run.name] = ModelChoice(name=run.name, title=title, dataset=run.dataset, model=model,
                                                 record=record, data=run.data, purpose="trained here",
                                                 trained_here=True)
        weights, document = to_bytes(model, record)
        last.update(name=run.name, title=title, weights=weights, document=document, command=run.command)
        select_in_sidebar(run.name)
    st.session_state[LAST_KEY] = last
    st.rerun()


def show_last_run() -> None:
    last = st.session_state.get(LAST_KEY)
    if last is None:
        st.info("Choose the settings above and press **Train**. The defaults (a dense AE with 256 hidden units and "
                "a 2-D code, 5 epochs on 4,500 MNIST digits) take 5–20 seconds, depending on how busy the server "
                "is.")
        return
    history = last["history"]
    st.subheader(f"Last run: {last['title']}")
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
        st.warning(f"Trained {epochs_text(len(history))} in {last['seconds']:.0f} s. {nothing}")
    else:
        st.success(f"Trained {epochs_text(len(history))} in {last['seconds']:.0f} s.")
    if not history:
        return
    kept = next((h for h in history if h["epoch"] == last["kept"]), history[-1])
    which = "Final held-out loss" if kept is history[-1] else f"Held-out loss of the kept epoch {kept['epoch']}"
    st.markdown(f"{which} **{kept['heldout_loss']:.2f}** (train {kept['train_loss']:.2f}): "
                f"{last['loss']}. The train loss is the mean over the epoch's batches (noisy inputs for a "
                f"denoising model); the held-out loss is measured on clean held-out images after each epoch.  \n"
                f"Data: {escape_md(last['source'])}")
    chart_col, table_col = st.columns([3, 2])
    chart_col.plotly_chart(epoch_curve(history, f"Loss: {last['loss']}"), key="train_last_curve")
    table_col.dataframe(epoch_table(history), hide_index=True)
    if last["name"] is None:
        return
    dataset_title = DATASET_TITLES.get(last["dataset"], last["dataset"])  # as the sidebar names it
    st.markdown(f"It is selected in the sidebar (dataset **{dataset_title}**) and offered on every page for this "
                f"browser session. Download it to keep it: a checkpoint is both files.")
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
        try:
            with st.spinner("Checking the checkpoint on held-out images…"):
                uploaded, data, record = accept_checkpoint_upload([(f.name, f.getvalue()) for f in files or []],
                                                                  app_data)
        except AutoencoderError as exc:
            show_error(exc)
            return
        except Exception as exc:  # noqa: BLE001  (anything else: a short message, the traceback in the log)
            report_unexpected(exc, "reading the checkpoint")
            return
        name = new_name("uploaded")
        title = unique_title(f"{uploaded.stem}: {describe(uploaded.model.config)}", name)
        trained_models()[name] = ModelChoice(name=name, title=title, dataset=uploaded.dataset, model=uploaded.model,
                                             record=record, data=data, purpose="uploaded checkpoint",
                                             trained_here=False)
        scored = ""
        if record["heldout_scoring_note"]:
            scored = (f" Its held-out loss was measured on {record['heldout_images_scored']:,} of "
                      f"{len(data.test):,} images: {record['heldout_scoring_note']}.")
        st.session_state[NOTICE_KEY] = (f"Added {escape_md(title)}; {escape_md(uploaded.note)}. It is selected in "
                                        f"the sidebar and offered on every page for this session.{scored}")
        select_in_sidebar(name)
        st.rerun()


def main() -> None:
    ensure_routed()
    settle_pending_run()  # a run that a click interrupted keeps its last finished epoch
    st.title("🏋️ Train an autoencoder")
    st.markdown(f"Train a fresh model on this server's CPU and watch its loss fall. To keep a shared server "
                f"usable, a run has at most **{MAX_EPOCHS} epochs** and **{MAX_SECONDS:.0f} seconds** (it keeps the "
                f"last finished epoch when it hits the cap), and only **one run at a time** trains on this server. "
                f"What you train is yours for this browser session: it appears in the sidebar on every page.")
    form, upload, submitted = training_form()
    # Fixed slots, so that while a run trains in `live` the last run's slot is cleared at once (not left
    # greyed out until the run ends) and the elements below keep their places.
    live, last = st.container(), st.empty()
    if submitted:
        last.empty()
    else:
        with last.container():
            show_last_run()
    checkpoint_upload()
    if submitted:
        with live:
            train_from_form(form, upload)


main()
