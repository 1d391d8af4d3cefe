"""Tied against untied weights, measured: learning curves from training records, parameter counts, and the
generalisation gap (held-out − train loss) of runs trained until the held-out loss stops improving.

The gap table itself is computed by scripts/tied_untied_gap.py and shipped as pretrained/tied_untied_gap.json;
this module trains one run, and reads and checks that file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from models.autoencoders import Autoencoder
from models.catalog import PRETRAINED_DIR
from models.config import TrainConfig
from models.errors import CheckpointError
from models.training.trainer import evaluate, train

GAP_FILE = PRETRAINED_DIR / "tied_untied_gap.json"
GAP_FORMAT = "autoencoder-explorer/tied-untied-gap/1"


def parameter_count(model: Autoencoder) -> int:
    """Trainable numbers, each counted once: a tied decoder shares W and adds only its bias b′."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def reconstruction_loss(model: Autoencoder, x: torch.Tensor) -> float:
    """The model's own reconstruction loss per image on x (BCE or ½‖x−x̂‖², no penalty terms), clean inputs."""
    was_training = model.training
    model.eval()
    try:
        return float(model.per_sample_error(x, model.reconstruct(x)).mean())
    finally:
        model.train(was_training)


@dataclass(frozen=True)
class PairLoss:
    """A tied and an untied model scored on the same held-out images: what the untied decoder's own W′ buys."""
    tied_loss: float
    untied_loss: float
    tied_parameters: int
    untied_parameters: int
    images: int

    @property
    def saving(self) -> float:
        """Loss per image the untied model saves (negative when the tied one is better)."""
        return self.tied_loss - self.untied_loss

    @property
    def extra_parameters(self) -> int:
        return self.untied_parameters - self.tied_parameters


def compare_pair(tied: Autoencoder, untied: Autoencoder, x: torch.Tensor) -> PairLoss:
    """Both models' reconstruction loss per image on the same images x, and their parameter counts."""
    return PairLoss(tied_loss=reconstruction_loss(tied, x), untied_loss=reconstruction_loss(untied, x),
                    tied_parameters=parameter_count(tied), untied_parameters=parameter_count(untied), images=len(x))


# --- learning curves from a checkpoint's record -------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    epochs: list[int]
    train: list[float]
    heldout: list[float]
    best_epoch: int | None  # the epoch whose weights were kept (None when the record does not say)


def learning_curve(record: dict) -> Curve | None:
    """The per-epoch train and held-out loss in a training record, or None when it has no usable history."""
    history = record.get("history")
    if not isinstance(history, list) or not history:
        return None
    try:
        rows = [(int(e["epoch"]), float(e["train_loss"]), float(e["heldout_loss"])) for e in history]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(t) and math.isfinite(h) for _, t, h in rows):
        return None
    best = record.get("best_epoch")
    best = int(best) if isinstance(best, (int, float)) and any(e == best for e, _, _ in rows) else None
    epochs, train_losses, heldout = (list(column) for column in zip(*rows))
    return Curve(epochs=epochs, train=train_losses, heldout=heldout, best_epoch=best)


# --- one run to convergence -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    epochs_run: int
    best_epoch: int
    train_loss: float  # at the best epoch, evaluated on the training digits with that epoch's weights
    heldout_loss: float  # at the best epoch
    stopped: str  # why it ended

    @property
    def gap(self) -> float:
        return self.heldout_loss - self.train_loss


def train_until_stopped(model: Autoencoder, train_x: torch.Tensor, heldout_x: torch.Tensor, config: TrainConfig,
                        patience: int, report: Callable[[dict], None] | None = None) -> Run:
    """Train with models.training.trainer.train until the held-out loss has not improved for `patience` epochs (or
    config.epochs run out). The train loss is re-evaluated after each epoch on clean training digits, in
    evaluation mode, so it compares like for like with the held-out loss (the running mean over an epoch's
    batches would mix weights from the whole epoch). report(stats) sees every epoch's figures."""
    best: dict = {}
    since_best = [0]

    def on_progress(stats: dict) -> None:
        if not best or stats["heldout_loss"] < best["heldout"]:
            best.update(epoch=stats["epoch"], heldout=stats["heldout_loss"],
                        train=evaluate(model, train_x, seed=config.seed)["loss"])
            since_best[0] = 0
        else:
            since_best[0] += 1
        if report is not None:
            report(stats)

    result = train(model, (train_x, heldout_x), config, on_progress=on_progress,
                   should_stop=lambda: since_best[0] >= patience)
    if not best:
        raise CheckpointError(f"training stopped before one epoch finished: {result.stopped}")
    why = (f"no held-out improvement for {patience} epochs" if since_best[0] >= patience
           else result.stopped or f"reached the {config.epochs}-epoch cap")
    return Run(epochs_run=result.epochs_completed, best_epoch=best["epoch"], train_loss=best["train"],
               heldout_loss=best["heldout"], stopped=why)


# --- the shipped gap table ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GapRow:
    width: int
    train_size: int
    tied: bool
    parameters: int
    train_loss: float
    heldout_loss: float
    best_epoch: int
    epochs_run: int
    seed: int = 0  # of the initial weights, the batch order and the small training subset

    @property
    def gap(self) -> float:
        return self.heldout_loss - self.train_loss

    @property
    def key(self) -> tuple[int, int, bool, int]:
        return self.width, self.train_size, self.tied, self.seed


@dataclass(frozen=True)
class GapTable:
    rows: list[GapRow]
    recipe: dict  # how the runs were trained (learning rate, patience, data, seed, command)

    @property
    def seed(self) -> int:
        """The seed of the main grid (other seeds only repeat some settings, to measure seed-to-seed spread)."""
        return int(self.recipe.get("seed", 0))

    def row(self, width: int, train_size: int, tied: bool, seed: int | None = None) -> GapRow | None:
        key = (width, train_size, tied, self.seed if seed is None else seed)
        return next((r for r in self.rows if r.key == key), None)

    @property
    def widths(self) -> list[int]:
        return sorted({r.width for r in self.rows})

    @property
    def train_sizes(self) -> list[int]:
        return sorted({r.train_size for r in self.rows}, reverse=True)

    def pairs(self, seed: int | None = None) -> list[tuple[GapRow, GapRow]]:
        """(tied, untied) of one seed (default: the main grid's) for every width and training-set size with both."""
        out = []
        for size in self.train_sizes:
            for width in self.widths:
                tied, untied = self.row(width, size, True, seed), self.row(width, size, False, seed)
                if tied and untied:
                    out.append((tied, untied))
        return out

    def seed_repeats(self) -> list[tuple[int, int, dict[int, float]]]:
        """(train_size, width, {seed: untied gap − tied gap}) for the settings run with more than one seed."""
        out = []
        for size in self.train_sizes:
            for width in self.widths:
                differences = {}
                for seed in sorted({r.seed for r in self.rows}):
                    tied, untied = self.row(width, size, True, seed), self.row(width, size, False, seed)
                    if tied and untied:
                        differences[seed] = untied.gap - tied.gap
                if len(differences) > 1:
                    out.append((size, width, differences))
        return out


def gap_document(rows: list[GapRow], recipe: dict) -> dict:
    order = sorted(rows, key=lambda r: (r.seed, -r.train_size, r.width, not r.tied))
    return {"format": GAP_FORMAT, "recipe": recipe, "rows": [{**r.__dict__} for r in order]}


def load_gap_table(path: Path | None = None) -> GapTable | None:
    """The table at `path` (default: the shipped one), or None when the file is absent; CheckpointError when it
    is malformed."""
    path = GAP_FILE if path is None else path
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"the tied/untied gap table {Path(path).name} is unreadable: {exc}") from exc
    try:
        if data.get("format") != GAP_FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {GAP_FORMAT!r}")
        rows = [GapRow(width=int(r["width"]), train_size=int(r["train_size"]), tied=bool(r["tied"]),
                       parameters=int(r["parameters"]), train_loss=float(r["train_loss"]),
                       heldout_loss=float(r["heldout_loss"]), best_epoch=int(r["best_epoch"]),
                       epochs_run=int(r["epochs_run"]), seed=int(r.get("seed", 0))) for r in data["rows"]]
        if not all(math.isfinite(r.train_loss) and math.isfinite(r.heldout_loss) for r in rows):
            raise ValueError("a loss is not a finite number")
        return GapTable(rows=rows, recipe=dict(data.get("recipe", {})))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"the tied/untied gap table {Path(path).name} is malformed: {exc}") from exc
