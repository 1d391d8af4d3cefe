"""The command line of the trainer: `python -m models.train …` trains one model and saves it (safetensors + JSON).

    python -m models.train --dataset mnist --kind vae --latent 2 --epochs 30 --out pretrained/mnist_vae2
"""

from __future__ import annotations

import argparse
import shlex
import sys

import torch

from models.config_cli import add_config_options, configs_from_args
from models.training.result import training_record
from models.training.trainer import train


# --- command line ---------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description="Train an autoencoder and save it.")
    p.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, olivetti, lfw")
    p.add_argument("--source", default="bundled", help="auto, bundled, local, download")
    p.add_argument("--data-dir", default=None, help="folder with local data files (else $AE_DATA_DIR)")
    p.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("H", "W"))
    add_config_options(p)  # one flag per ModelConfig and TrainConfig field (models/config_cli.py)
    p.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    p.add_argument("--out", required=True, help="checkpoint path stem, e.g. pretrained/mnist_vae2")
    return p.parse_args(argv)


def parse_command(command: str) -> argparse.Namespace:
    """A recorded `python -m models.train …` command (a checkpoint's record, a catalog entry) as parsed."""
    words = shlex.split(command)
    if words[:3] != ["python", "-m", "models.train"]:
        raise ValueError(f"not a `python -m models.train` command: {command[:60]!r}")
    return parse_args(words[3:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    from models.checkpoint import save_checkpoint  # noqa: PLC0415 (safetensors only when saving)
    from models.data import load_dataset  # noqa: PLC0415

    data = load_dataset(args.dataset, source=args.source, data_dir=args.data_dir,
                        image_size=tuple(args.image_size) if args.image_size else None)
    model_config, train_config = configs_from_args(args, data.image_shape)
    model_config.validate()
    train_config.validate()
    torch.manual_seed(args.seed)  # the initial weights
    from models.autoencoders import build_model  # noqa: PLC0415

    model = build_model(model_config)
    print(f"data: {data.source}")
    print(f"model: {args.kind}/{args.arch} hidden={list(args.hidden)} latent={args.latent} "
          f"({sum(p.numel() for p in model.parameters()):,} parameters)")

    def report(stats: dict) -> None:
        terms = " ".join(f"{k}={v:.4g}" for k, v in stats["terms"].items() if k != "loss")
        print(f"epoch {stats['epoch']:3d}/{stats['epochs']}  train {stats['train_loss']:.4f}  "
              f"held-out {stats['heldout_loss']:.4f}  ({terms})  {stats['seconds']:.1f}s", flush=True)

    result = train(model, data, train_config, on_progress=report, device=args.device)
    if result.stopped:
        print(f"stopped: {result.stopped}")
    print(f"kept epoch {result.best_epoch}: train {result.final_train_loss}, held-out {result.final_heldout_loss}")
    command = "python -m models.train " + shlex.join(argv)
    weights, document = save_checkpoint(model, args.out, training_record(result, data, train_config, command))
    print(f"saved {weights} and {document}")
    return 0 if result.history else 1

