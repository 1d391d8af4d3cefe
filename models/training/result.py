"""What a training run gives back (TrainResult), and what a checkpoint records of how it was made
(training_record): the kept epoch, why it stopped, and every epoch's train and held-out loss."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import torch

from models.config import TrainConfig


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one dict per finished epoch
    stopped: str | None = None  # why training ended early (NaN, divergence, early stop, time cap, request)
    seconds: float = 0.0
    best_epoch: int | None = None  # the epoch whose weights were kept; 0 = the starting weights; None: the last
    diverged: bool = False  # the loss became non-finite or exploded
    initial_heldout_loss: float | None = None  # the untrained model's, the yardstick for divergence

    @property
    def epochs_completed(self) -> int:
        return len(self.history)

    @property
    def kept(self) -> dict | None:
        """The history entry of the kept epoch (None when the starting weights were kept)."""
        if not self.history:
            return None
        if self.best_epoch is None:
            return self.history[-1]
        return next((h for h in self.history if h["epoch"] == self.best_epoch), None)

    @property
    def final_train_loss(self) -> float | None:
        return self.kept["train_loss"] if self.kept else None

    @property
    def final_heldout_loss(self) -> float | None:
        if self.kept is None:
            return self.initial_heldout_loss if self.best_epoch == 0 else None
        return self.kept["heldout_loss"]


def training_record(result: TrainResult, dataset, train_config: TrainConfig, command: str | None = None) -> dict:
    """What a checkpoint records about how it was made, with every epoch's train and held-out loss."""
    return {
        "dataset": dataset.name,
        "data_source": dataset.source,
        "train_size": dataset.train_size,  # counted even once the images are let go
        "heldout_size": len(dataset.test),
        "epochs": result.epochs_completed,
        "train": train_config.to_dict(),
        "best_epoch": result.epochs_completed if result.best_epoch is None else result.best_epoch,
        "final_train_loss": result.final_train_loss,
        "final_heldout_loss": result.final_heldout_loss,
        "initial_heldout_loss": result.initial_heldout_loss,
        "stopped": result.stopped,
        "diverged": result.diverged,
        "history": [{key: h[key] for key in HISTORY_KEYS if key in h} for h in result.history],
        "seconds": round(result.seconds, 2),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "torch": torch.__version__,
    }


HISTORY_KEYS = ("epoch", "train_loss", "heldout_loss", "terms", "seconds")
