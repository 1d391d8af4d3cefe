"""The tied-vs-untied generalisation-gap table the Features page shows: single-layer sigmoid autoencoders at a
few widths, tied and untied, on all training digits and on a small subset, each trained with one recipe until
its held-out loss stops improving; one setting is repeated with more seeds to show the seed-to-seed spread.
Writes pretrained/tied_untied_gap.json.

    nice -n 10 .venv/bin/python scripts/tied_untied_gap.py > /tmp/gap.log 2>&1 &
    .venv/bin/python scripts/tied_untied_gap.py --quick --out /tmp/gap.json   # seconds: a smoke run

Training is deterministic (one CPU thread, fixed seeds), so --reuse FILE takes the runs FILE already holds with the
same recipe instead of training them again.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from models.analysis.tied_untied import (  # noqa: E402
    GAP_FILE,
    GapRow,
    gap_document,
    load_gap_table,
    parameter_count,
    train_until_stopped,
)
from models.autoencoders import build_model  # noqa: E402
from models.config import ModelConfig, TrainConfig  # noqa: E402
from models.data import load_dataset  # noqa: E402


def subset(x: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """`size` training digits drawn without replacement by a seeded permutation (all of them when size ≥ N)."""
    if size >= len(x):
        return x
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[order[:size]]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--widths", type=int, nargs="+", default=[50, 100, 400])
    p.add_argument("--sizes", type=int, nargs="+", default=[500, 4500], help="training-set sizes")
    p.add_argument("--patience", type=int, default=20, help="epochs without a held-out improvement before stopping")
    p.add_argument("--max-epochs", type=int, default=1500)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise-seeds", type=int, nargs="*", default=[1, 2], help="more seeds for one setting")
    p.add_argument("--noise-setting", type=int, nargs=2, default=[500, 100], metavar=("DIGITS", "UNITS"))
    p.add_argument("--reuse", default=None, help="a table whose runs with the same recipe are taken, not retrained")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny widths, sizes and patience: a smoke run")
    p.add_argument("--out", default=str(GAP_FILE))
    args = p.parse_args(argv)
    if args.quick:
        args.widths, args.sizes, args.patience, args.max_epochs = [4], [200, 50], 2, 6
        args.noise_seeds, args.noise_setting = [1], [50, 4]
    return args


RECIPE_KEYS = ("data", "heldout_size", "lr", "batch_size", "patience", "max_epochs", "train_loss", "torch")


def jobs(args: argparse.Namespace) -> list[tuple[int, int, bool, int]]:
    """(train_size, width, tied, seed): the main grid, then the noise setting again with each extra seed."""
    grid = [(size, width, tied, args.seed) for size in args.sizes for width in args.widths for tied in (True, False)]
    size, width = args.noise_setting
    return grid + [(size, width, tied, seed) for seed in args.noise_seeds for tied in (True, False)]


def reusable(path: str | None, recipe: dict) -> dict:
    """Rows of an earlier table made with the same recipe, by (width, train_size, tied, seed)."""
    table = load_gap_table(Path(path)) if path else None
    if table is None or any(table.recipe.get(k) != recipe.get(k) for k in RECIPE_KEYS):
        return {}
    return {row.key: row for row in table.rows}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist", source="bundled")
    recipe = {
        "data": data.source, "heldout_size": len(data.test), "loss": "BCE per image",
        "optimiser": "Adam", "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed,
        "noise_seeds": args.noise_seeds, "patience": args.patience, "max_epochs": args.max_epochs,
        "subset": "a random draw from the training digits, by the run's seed",
        "train_loss": "evaluated after the best epoch on the clean training digits, in evaluation mode",
        "command": " ".join(["python scripts/tied_untied_gap.py",
                             shlex.join(a for a in argv if not a.startswith("--reuse") and a != args.reuse)]).strip(),
        "torch": torch.__version__,
    }
    done = reusable(args.reuse, recipe)
    rows = []
    start = time.perf_counter()

    def progress(stats: dict) -> None:
        if stats["epoch"] % 100 == 0:
            print(f"    epoch {stats['epoch']}: held-out {stats['heldout_loss']:.2f}", flush=True)

    for size, width, tied, seed in jobs(args):
        train_x = subset(data.train, size, seed)
        key = (width, len(train_x), tied, seed)
        if key in done:
            rows.append(done[key])
            print(f"{len(train_x):5d} digits  width {width:4d}  {'tied  ' if tied else 'untied'}  seed {seed}: reused")
            continue
        torch.manual_seed(seed)
        model = build_model(ModelConfig(hidden=(), latent=width, code_activation="sigmoid", tied=tied,
                                        input_shape=data.image_shape))
        config = TrainConfig(epochs=args.max_epochs, batch_size=args.batch_size, lr=args.lr, seed=seed,
                             threads=args.threads)
        run = train_until_stopped(model, train_x, data.test, config, args.patience, report=progress)
        rows.append(GapRow(width=width, train_size=len(train_x), tied=tied, parameters=parameter_count(model),
                           train_loss=run.train_loss, heldout_loss=run.heldout_loss, best_epoch=run.best_epoch,
                           epochs_run=run.epochs_run, seed=seed))
        print(f"{len(train_x):5d} digits  width {width:4d}  {'tied  ' if tied else 'untied'}  seed {seed}  "
              f"best epoch {run.best_epoch:4d}/{run.epochs_run:4d}  train {run.train_loss:7.2f}  "
              f"held-out {run.heldout_loss:7.2f}  gap {run.gap:6.2f}  ({run.stopped}; "
              f"{time.perf_counter() - start:.0f}s so far)", flush=True)
    out = Path(args.out)
    out.write_text(json.dumps(gap_document(rows, recipe), indent=2) + "\n")
    print(f"wrote {out} in {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
