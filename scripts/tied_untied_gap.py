"""The tied-vs-untied generalisation-gap table the Features page shows: single-layer sigmoid autoencoders at a
few widths, tied and untied, on all training digits and on a small subset, each trained with one recipe until
its held-out loss stops improving. Writes pretrained/tied_untied_gap.json.

    nice -n 10 .venv/bin/python scripts/tied_untied_gap.py > /tmp/gap.log 2>&1 &
    .venv/bin/python scripts/tied_untied_gap.py --quick --out /tmp/gap.json   # seconds: a smoke run
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

from models.autoencoders import build_model  # noqa: E402
from models.config import ModelConfig, TrainConfig  # noqa: E402
from models.data import load_dataset  # noqa: E402
from models.generalisation import GAP_FILE, GapRow, gap_document, parameter_count, train_until_stopped  # noqa: E402


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
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny widths, sizes and patience: a smoke run")
    p.add_argument("--out", default=str(GAP_FILE))
    args = p.parse_args(argv)
    if args.quick:
        args.widths, args.sizes, args.patience, args.max_epochs = [4], [200, 50], 2, 6
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist", source="bundled")
    rows = []
    start = time.perf_counter()

    def progress(stats: dict) -> None:
        if stats["epoch"] % 100 == 0:
            print(f"    epoch {stats['epoch']}: held-out {stats['heldout_loss']:.2f}", flush=True)

    for size in args.sizes:
        train_x = subset(data.train, size, args.seed)
        for width in args.widths:
            for tied in (True, False):
                torch.manual_seed(args.seed)
                model = build_model(ModelConfig(hidden=(), latent=width, code_activation="sigmoid", tied=tied,
                                                input_shape=data.image_shape))
                config = TrainConfig(epochs=args.max_epochs, batch_size=args.batch_size, lr=args.lr,
                                     seed=args.seed, threads=args.threads)
                run = train_until_stopped(model, train_x, data.test, config, args.patience, report=progress)
                rows.append(GapRow(width=width, train_size=len(train_x), tied=tied,
                                   parameters=parameter_count(model), train_loss=run.train_loss,
                                   heldout_loss=run.heldout_loss, best_epoch=run.best_epoch,
                                   epochs_run=run.epochs_run))
                print(f"{len(train_x):5d} digits  width {width:4d}  {'tied  ' if tied else 'untied'}  "
                      f"best epoch {run.best_epoch:4d}/{run.epochs_run:4d}  train {run.train_loss:7.2f}  "
                      f"held-out {run.heldout_loss:7.2f}  gap {run.gap:6.2f}  ({run.stopped}; "
                      f"{time.perf_counter() - start:.0f}s so far)", flush=True)
    recipe = {
        "data": data.source, "heldout_size": len(data.test), "loss": "BCE per image",
        "optimiser": "Adam", "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed,
        "patience": args.patience, "max_epochs": args.max_epochs,
        "subset": "a seeded random draw (the seed above) from the training digits",
        "train_loss": "evaluated after the best epoch on the clean training digits, in evaluation mode",
        "command": "python scripts/tied_untied_gap.py " + shlex.join(argv),
        "torch": torch.__version__,
    }
    out = Path(args.out)
    out.write_text(json.dumps(gap_document(rows, recipe), indent=2) + "\n")
    print(f"wrote {out} in {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
