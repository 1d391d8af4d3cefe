"""The Train page's plain parts (no streamlit, so they test directly): the form's values turned into configs,
what the form warns about, the words for a model and its losses, and checkpoint uploads. Runs themselves train
in the server's pool (ui/train/runs.py, models/training/job.py)."""

from __future__ import annotations

import math
import re
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from models.autoencoders import Autoencoder
from models.checkpoint import from_bytes
from models.config import MAX_WIDTH, ModelConfig, TrainConfig, brief
from models.config_cli import config_argv
from models.data import Dataset
from models.errors import CheckpointError, ConfigError
from models.training.checks import behaviour_problem, score_heldout
from models.training.job import MAX_PARAMETERS, check_size, fresh_model  # noqa: F401 (the page, its tests)

MAX_EPOCHS = 50
MAX_SECONDS = 120.0  # a run's time cap: the pool stops it between two steps
MIN_STEPS = 10  # gradient steps per epoch below which the form warns
MAX_JACOBIAN_ROWS = 4096  # latent × batch for the autograd contractive penalty: ~1 s and ~1 GB a batch at most

DATASETS = {"mnist": "MNIST digits (bundled 4,500 train / 500 held out)",
            "olivetti": "Faces (Olivetti 64×64)",
            "user": "Your images (a zip of PNG/JPEG)"}
FIXED_SHAPES = {"mnist": (1, 28, 28), "olivetti": (1, 64, 64)}
USER_SIDES = (28, 32, 48, 64)
REGULARISERS = {"none": "none",
                "denoising": "denoising: corrupt the input",
                "l1": "sparse: L1 on the code",
                "kl": "sparse: KL to a target ρ (sigmoid code)",
                "contractive": "contractive: ‖∂h/∂x‖²"}
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class TrainForm:
    """What the form asks, with its defaults: a dense AE that trains in ~10-20 s on two cores."""

    dataset: str = "mnist"
    image_side: int = 28  # user uploads are resized to side×side
    kind: str = "ae"
    arch: str = "dense"
    latent: int = 2
    hidden: str = "256"
    activation: str = "relu"
    code_activation: str = "identity"
    tied: bool = False
    loss: str = "bce"
    beta: float = 1.0
    regulariser: str = "none"
    noise: str = "gaussian"
    noise_level: float = 0.3
    weight: float = 1.0  # λ of the sparse or contractive penalty
    rho: float = 0.05
    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0


# Which fields a run uses, by the four choices that decide it (the page shows only these; the rest keep the
# defaults, which build_configs ignores or which validate as they are).
ALWAYS_SHOWN = frozenset({"latent", "hidden", "activation", "loss", "epochs", "lr", "batch_size", "seed"})


def fields_that_apply(dataset: str, kind: str, arch: str, regulariser: str) -> frozenset[str]:
    """The form's fields (TrainForm names, and "upload") that matter for these choices."""
    fields = set(ALWAYS_SHOWN)
    if dataset == "user":
        fields |= {"upload", "image_side"}
    if regulariser == "denoising":
        fields |= {"noise", "noise_level"}
    if regulariser in ("l1", "kl", "contractive"):
        fields.add("weight")
    if regulariser == "kl":
        fields.add("rho")
    fields.add("beta" if kind == "vae" else "code_activation")  # a VAE's code is its mean: no activation
    if arch == "dense":
        fields.add("tied")
    return frozenset(fields)


def parse_hidden(text: str) -> tuple[int, ...]:
    """ "512, 256" → (512, 256); "" → () (a single-layer dense model). Anything else is a ConfigError."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    for part in parts:
        shown = part if len(part) <= 20 else part[:19] + "…"
        if not re.fullmatch(r"[0-9]+", part) or not part.strip("0"):
            raise ConfigError(f'hidden sizes must be positive whole numbers separated by commas, e.g. "512, 256"; '
                              f'"{shown}" is not one')
        if len(part.lstrip("0")) > len(str(MAX_WIDTH)):  # and int() never sees a 5,000-digit string
            raise ConfigError(f"hidden sizes must be between 1 and {MAX_WIDTH}; {shown} is far larger")
    return tuple(int(p) for p in parts)


# The form's number fields carry no bounds of their own: a browser refuses a typed value outside a widget's
# bounds with only a red border, and the form then does not submit. Checked here, the user reads why.
FORM_NUMBERS = {  # field: (label, low, high, whole)
    "latent": ("Latent size", 1, 256, True),
    "seed": ("Seed", 0, 2**31 - 1, True),
    "beta": ("β", 0.0, 100.0, False),
    "noise_level": ("Noise level", 0.0, 5.0, False),
    "weight": ("Penalty weight λ", 0.0, 1000.0, False),
    "rho": ("Target mean activation ρ", 0.001, 0.999, False),
}


def check_form_numbers(form: TrainForm) -> None:
    """Raise ConfigError naming the first number field that is not a number within its range."""
    for field_name, (label, low, high, whole) in FORM_NUMBERS.items():
        value = getattr(form, field_name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{label} must be a number between {low:g} and {high:g}, got {brief(value)}")
        if whole and value != int(value):
            raise ConfigError(f"{label} must be a whole number between {low:g} and {high:g}, got {value:g}")
        if not low <= value <= high:
            raise ConfigError(f"{label} must be between {low:g} and {high:g}; {value:g} is out of range")


def input_shape(form: TrainForm) -> tuple[int, int, int]:
    return FIXED_SHAPES.get(form.dataset, (1, form.image_side, form.image_side))


def build_configs(form: TrainForm) -> tuple[ModelConfig, TrainConfig]:
    """The validated configs the form describes; raises ConfigError naming the first bad setting."""
    check_form_numbers(form)
    if form.dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {form.dataset!r}")
    if form.regulariser not in REGULARISERS:
        raise ConfigError(f"unknown regulariser {form.regulariser!r}")
    if form.regulariser == "denoising" and not form.noise_level > 0:
        raise ConfigError("denoising needs a noise level above 0")
    if form.regulariser == "kl" and form.kind == "vae":
        raise ConfigError("KL sparsity needs a sigmoid code, and a VAE's code is the mean of a Gaussian: choose AE, "
                          "or another regulariser")
    if form.regulariser in ("l1", "kl", "contractive") and not form.weight > 0:
        raise ConfigError(f"the {REGULARISERS[form.regulariser]} penalty needs a weight λ above 0")
    penalty = {}
    if form.regulariser == "denoising":
        penalty = {"noise": form.noise, "noise_level": form.noise_level}
    elif form.regulariser in ("l1", "kl"):
        penalty = {"sparsity": form.regulariser, "sparsity_weight": form.weight, "sparsity_target": form.rho}
    elif form.regulariser == "contractive":
        penalty = {"contractive_weight": form.weight}
    model_config = ModelConfig(
        kind=form.kind, arch=form.arch, input_shape=input_shape(form), hidden=parse_hidden(form.hidden),
        latent=form.latent, activation=form.activation, code_activation=form.code_activation, tied=form.tied,
        loss=form.loss, beta=form.beta if form.kind == "vae" else 1.0, **penalty,
    ).validate()
    train_config = TrainConfig(epochs=form.epochs, batch_size=form.batch_size, lr=form.lr, seed=form.seed,
                               max_seconds=MAX_SECONDS).validate(max_epochs=MAX_EPOCHS)
    closed_form = model_config.single_layer and model_config.code_activation == "sigmoid"
    if model_config.contractive_weight > 0 and not closed_form and \
            model_config.latent * train_config.batch_size > MAX_JACOBIAN_ROWS:
        # The autograd Jacobian keeps one differentiable backward pass per code unit alive for the whole batch.
        raise ConfigError(f"the contractive penalty by autograd costs one backward pass per code unit: latent "
                          f"{model_config.latent} × batch {train_config.batch_size} is over {MAX_JACOBIAN_ROWS:,} "
                          f"on a shared server. Use a smaller code or batch, or a single sigmoid layer "
                          f"(no hidden layers), whose penalty has a closed form")
    return model_config, train_config


def few_steps_warning(images: int, batch_size: int) -> str | None:
    """A warning when the training images give fewer than MIN_STEPS gradient steps per epoch, with the largest
    batch size of the form that gives at least that many (or the smallest one)."""
    steps = math.ceil(images / batch_size)
    if steps >= MIN_STEPS:
        return None
    better = max((b for b in BATCH_SIZES if math.ceil(images / b) >= MIN_STEPS), default=BATCH_SIZES[0])
    gives = math.ceil(images / better)
    return (f"{images:,} training images at batch size {batch_size} give {steps} gradient "
            f"step{'' if steps == 1 else 's'} per epoch, too few for the model to learn much. Try batch size "
            f"{better} ({gives} step{'' if gives == 1 else 's'} per epoch) or more epochs.")


def describe(config: ModelConfig) -> str:
    """One line naming the model, in the catalog's style: "Dense AE, latent 2, hidden 256"."""
    parts = [f"{config.arch.capitalize()} {config.kind.upper()}, latent {config.latent}",
             f"{'channels' if config.arch == 'conv' else 'hidden'} {'-'.join(map(str, config.hidden))}"
             if config.hidden else "single layer"]
    if config.conv_dense:
        parts.append(f"dense {config.conv_dense}")
    if config.tied:
        parts.append("tied")
    if config.kind == "vae" and config.beta != 1:
        parts.append(f"β={config.beta:g}")
    if config.noise != "none" and config.noise_level > 0:
        parts.append(f"denoising {config.noise} {config.noise_level:g}")
    if config.sparsity != "none" and config.sparsity_weight > 0:
        target = f" ρ={config.sparsity_target:g}" if config.sparsity == "kl" else ""
        parts.append(f"{config.sparsity.upper()} sparsity λ={config.sparsity_weight:g}{target}")
    if config.contractive_weight > 0:
        parts.append(f"contractive λ={config.contractive_weight:g}")
    if config.loss == "mse":
        parts.append("MSE")
    return ", ".join(parts)


def loss_label(config: ModelConfig) -> str:
    """What the loss numbers are, for the curve's title and captions."""
    terms = ["BCE" if config.loss == "bce" else "½ squared error"]
    if config.kind == "vae":
        terms.append("β·KL")
    if config.sparsity != "none" and config.sparsity_weight > 0:
        terms.append(f"λ·{config.sparsity.upper()} sparsity")
    if config.contractive_weight > 0:
        terms.append("λ·‖∂h/∂x‖²")
    return f"{' + '.join(terms)}, per image (summed over its pixels)"


def cli_command(model_config: ModelConfig, train_config: TrainConfig, dataset: str, out: str) -> str | None:
    """The `python -m models.train` command that repeats this run (None for an upload: the CLI takes none)."""
    data_args = {"mnist": ["--dataset", "mnist", "--source", "bundled"],
                 "olivetti": ["--dataset", "olivetti", "--source", "auto", "--image-size", "64", "64"]}.get(dataset)
    if data_args is None:
        return None
    # The page's time cap is the shared server's, not the run's: the command runs elsewhere, without it.
    train_config = replace(train_config, max_seconds=None)
    args = [*data_args, *config_argv(model_config, train_config), "--out", out]
    return "python -m models.train " + shlex.join(args)


TERM_NAMES = {"recon": "recon", "kl": "KL", "sparsity": "sparsity", "contractive": "contractive"}


def epoch_table(history: list[dict]) -> list[dict]:
    """One row per epoch for the page's table: losses, the held-out loss's terms, seconds since the start."""
    rows = []
    for stats in history:
        row = {"epoch": stats["epoch"], "train loss": _digits(stats["train_loss"]),
               "held-out loss": _digits(stats["heldout_loss"])}
        terms = {f"held-out {label}": _digits(stats["terms"][term]) for term, label in TERM_NAMES.items()
                 if term in stats["terms"]}
        if len(terms) > 1:  # a lone reconstruction term would repeat the held-out loss
            row.update(terms)
        row["seconds"] = round(stats["seconds"], 1)
        rows.append(row)
    return rows


def _digits(value: float) -> float:
    return float(f"{value:.4g}")  # four significant digits: losses run from 1e-4 (penalties) to 1e20 (diverging)


def epochs_text(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def shorten(text: str, limit: int = 60) -> str:
    """A user's file name as titles and messages show it: at most `limit` characters."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# --- checkpoints from elsewhere --------------------------------------------------------------------------
FACE_DATASETS = ("olivetti", "lfw")  # the app's faces are Olivetti, or LFW when the Olivetti file is missing


@dataclass(frozen=True)
class UploadedCheckpoint:
    model: Autoencoder
    record: dict
    dataset: str  # the sidebar's dataset key whose held-out images the model is shown with
    stem: str
    note: str  # how the dataset was chosen, said to the user


def checked_record(uploaded: dict, model: Autoencoder, data) -> dict:
    """The record shown for an uploaded model: its held-out loss is computed here, on the data it is shown
    with, never copied from the uploader's JSON (which may be another test set, or not a number at all)."""
    epochs = uploaded.get("epochs")
    score = score_heldout(model, data.test)
    return {
        "dataset": data.name,
        "data_source": data.source,
        "epochs": epochs if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 0 else None,
        "final_heldout_loss": score.loss,
        "heldout_computed_here": True,
        "heldout_images_scored": score.images,
        "heldout_scoring_note": score.reason,  # why fewer than all held-out images were scored, if so
        "uploaded_record": uploaded,
    }


def accept_checkpoint_upload(files: list[tuple[str, bytes]], load_data: Callable[[str], Dataset]
                             ) -> tuple[UploadedCheckpoint, Dataset, dict]:
    """What "Add to this session's models" does: read and check the two files, load the held-out images the
    model will be shown with, check its behaviour on them, and score it there in bounded time. Returns the
    upload, that data and the record to show; anything unusable is a CheckpointError saying why."""
    upload = read_checkpoint_upload(files)
    data = load_data(upload.dataset)
    problem = behaviour_problem(upload.model, data.test)
    if problem:
        raise CheckpointError(f"{upload.stem}: {problem}, so no page could show it. Weights that large come "
                              f"from a run that diverged or from editing; train it again with a smaller "
                              f"learning rate")
    record = checked_record(upload.record, upload.model, data)
    if not math.isfinite(record["final_heldout_loss"]):
        raise CheckpointError(f"{upload.stem}: its held-out loss is {record['final_heldout_loss']}, not a number "
                              f"the pages can show")
    return upload, data, record


def read_checkpoint_upload(files: list[tuple[str, bytes]]) -> UploadedCheckpoint:
    """A (.safetensors, .json) pair → the model, its record, and the app dataset to show it with.

    The record's dataset is used when the app has it in the model's input shape; otherwise a 1×28×28 model
    is shown with MNIST, and any other shape is refused, as there would be no images to show it with.
    """
    weights = [(n, b) for n, b in files if n.lower().endswith(".safetensors")]
    documents = [(n, b) for n, b in files if n.lower().endswith(".json")]
    if len(weights) != 1 or len(documents) != 1 or len(files) != 2:
        names = ", ".join(shorten(n) for n, _ in files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
        raise CheckpointError(f"upload a checkpoint as two files, one .safetensors and one .json; "
                              f"got {names or 'nothing'}")
    (weights_name, weights_bytes), (_, document_bytes) = weights[0], documents[0]
    stem = shorten(weights_name.rsplit(".", 1)[0])
    model, record = from_bytes(weights_bytes, document_bytes, name=stem)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    shape = tuple(model.config.input_shape)
    named = record.get("dataset") if isinstance(record.get("dataset"), str) and record.get("dataset") else "unknown"
    key = "olivetti" if named in FACE_DATASETS else named
    if FIXED_SHAPES.get(key) == shape:
        return UploadedCheckpoint(model, record, key, stem, f"shown with the app's held-out {key} images")
    if shape == FIXED_SHAPES["mnist"]:
        return UploadedCheckpoint(model, record, "mnist", stem,
                                  f"its record names dataset {brief(named)}, which this app does not have; as a "
                                  f"1×28×28 model it is shown with MNIST held-out digits")
    raise CheckpointError(f"{stem}: trained on {brief(named)} with {'×'.join(map(str, shape))} inputs; this app has "
                          f"held-out images only for 1×28×28 (MNIST) and 1×64×64 (faces) models, so there is "
                          f"nothing to show it with")
