"""The catalog of shipped models: pretrained/catalog.json lists each checkpoint and how it was made."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from models.errors import CheckpointError

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
CATALOG_FILE = "catalog.json"


@dataclass(frozen=True)
class CatalogEntry:
    name: str  # checkpoint stem in pretrained/, also the id used in URLs
    title: str  # what a student reads in the model picker
    dataset: str
    data_source: str  # the load_dataset source it was trained on: "bundled", "local", ...
    kind: str
    arch: str
    latent: int
    options: str  # one line: tied, denoising σ, sparsity, …
    purpose: str  # which page/question it is for
    command: str  # the exact command that retrains it
    record: dict  # the training record saved in its JSON
    root: Path = PRETRAINED_DIR

    @property
    def path(self) -> Path:
        return self.root / self.name


def load_catalog(root: Path = PRETRAINED_DIR) -> list[CatalogEntry]:
    path = Path(root) / CATALOG_FILE
    try:
        data = json.loads(path.read_text())
        return [CatalogEntry(root=Path(root), **entry) for entry in data["models"]]
    except FileNotFoundError as exc:
        raise CheckpointError(f"no model catalog at {path}: run scripts/train_pretrained.py") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"the model catalog {path} is malformed: {exc}") from exc
