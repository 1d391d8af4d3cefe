"""The command line of the trainer: `python -m models.train …` trains one model and saves it (safetensors + JSON).

    python -m models.train --dataset mnist --kind vae --latent 2 --epochs 30 --out pretrained/mnist_vae2
"""

from __future__ import annotations

import argparse
import shlex
import sys

import torch

from models.config import ARCHS, KINDS, LOSSES, LR_SCHEDULES, PRECISIONS, ModelConfig, TrainConfig
from models.training.trainer import train, training_record


# --- command line ---------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description="Train an autoencoder and save it.")
    p.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, olivetti, lfw")
    p.add_argument("--source", default="bundled", help="auto, bundled, local, download")
    p.add_argument("--data-dir", default=None, help="folder with local data files (else $AE_DATA_DIR)")
    p.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("H", "W"))
    p.add_argument("--kind", default="ae", choices=KINDS)
    p.add_argument("--arch", default="dense", choices=ARCHS)
    p.add_argument("--hidden", type=int, nargs="*", default=[256], help="dense widths or conv channels")
    p.add_argument("--latent", type=int, default=2)
    p.add_argument("--activation", default="relu")
    p.add_argument("--code-activation", default="identity")
    p.add_argument("--output-activation", default="auto")
    p.add_argument("--tied", action="store_true")
    p.add_argument("--loss", default="bce", choices=LOSSES)
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--noise", default="none")
    p.add_argument("--noise-level", type=float, default=0.0)
    p.add_argument("--sparsity", default="none")
    p.add_argument("--sparsity-weight", type=float, default=0.0)
    p.add_argument("--sparsity-target", type=float, default=0.05)
    p.add_argument("--contractive-weight", type=float, default=0.0)
    p.add_argument("--conv-dense", type=int, default=0, help="conv: a dense layer of this width beside the code")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--patience", type=int, default=None, help="early stop after N epochs without a better held-out loss")
    p.add_argument("--lr-schedule", default="constant", choices=LR_SCHEDULES)
    p.add_argument("--kl-warmup", type=int, default=0, help="VAE: epochs over which β ramps up from 0")
    p.add_argument("--shift", type=int, default=0, help="augmentation: random shifts of up to ±N pixels")
    p.add_argument("--ema", type=float, default=0.0, help="keep a moving average of the weights, e.g. 0.999")
    p.add_argument("--precision", default="float32", choices=PRECISIONS,
                   help="bfloat16: mixed-precision training steps (autocast); weights stay float32")
    p.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    p.add_argument("--out", required=True, help="checkpoint path stem, e.g. pretrained/mnist_vae2")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    from models.checkpoint import save_checkpoint  # noqa: PLC0415 (keeps `import models.training.cli` light)
    from models.data import load_dataset  # noqa: PLC0415

    data = load_dataset(args.dataset, source=args.source, data_dir=args.data_dir,
                        image_size=tuple(args.image_size) if args.image_size else None)
    model_config = ModelConfig(
        kind=args.kind, arch=args.arch, input_shape=data.image_shape, hidden=tuple(args.hidden),
        latent=args.latent, activation=args.activation, code_activation=args.code_activation,
        output_activation=args.output_activation, tied=args.tied, loss=args.loss, beta=args.beta,
        noise=args.noise, noise_level=args.noise_level, sparsity=args.sparsity,
        sparsity_weight=args.sparsity_weight, sparsity_target=args.sparsity_target,
        contractive_weight=args.contractive_weight, conv_dense=args.conv_dense,
    ).validate()
    train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                               threads=args.threads, patience=args.patience, lr_schedule=args.lr_schedule,
                               kl_warmup=args.kl_warmup, shift=args.shift, ema=args.ema,
                               precision=args.precision).validate()
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

