"""Training: preloaded tensors sliced into batches, a seed, held-out loss each epoch, and a NaN guard.

    python -m models.train --dataset mnist --kind vae --latent 2 --epochs 30 --out pretrained/mnist_vae2
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import math
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from models.autoencoders import Autoencoder
from models.config import ModelConfig, TrainConfig
from models.errors import TrainingError


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one dict per finished epoch
    stopped: str | None = None  # why training ended early (NaN, time cap, stop request); None if it ran out
    seconds: float = 0.0

    @property
    def epochs_completed(self) -> int:
        return len(self.history)

    @property
    def final_train_loss(self) -> float | None:
        return self.history[-1]["train_loss"] if self.history else None

    @property
    def final_heldout_loss(self) -> float | None:
        return self.history[-1]["heldout_loss"] if self.history else None


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@torch.no_grad()
def evaluate(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean loss terms per sample on x: clean inputs, and a fixed seed for a VAE's sampled z, so the
    same model and data always give the same number."""
    was_training = model.training
    model.eval()
    device = model.device
    generator = torch.Generator(device=device).manual_seed(seed)
    sums: dict[str, float] = {}
    try:
        for i in range(0, len(x), batch_size):
            batch = x[i:i + batch_size].to(device)
            with torch.enable_grad() if model.config.contractive_weight > 0 else torch.no_grad():
                terms = model.loss(batch, corrupt_input=False, generator=generator)
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.item() * len(batch)
    finally:
        model.train(was_training)
    return {key: value / len(x) for key, value in sums.items()}


def train(model: Autoencoder, data, config: TrainConfig,
          on_progress: Callable[[dict], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          device: str | torch.device = "cpu") -> TrainResult:
    """Train `model` in place on data.train, evaluating on data.test after every epoch.

    on_progress(stats) is called after each epoch with epoch, epochs, train_loss, heldout_loss, terms, seconds.
    A NaN or infinite loss stops training and restores the weights of the last good epoch (or the start).
    """
    config.validate()
    train_x, test_x = _split(data)
    if len(train_x) == 0 or len(test_x) == 0:
        raise TrainingError("training needs at least one training and one held-out image")
    if tuple(train_x.shape[1:]) != tuple(model.config.input_shape):
        raise TrainingError(f"the data's images are {tuple(train_x.shape[1:])} but the model expects "
                            f"{tuple(model.config.input_shape)}")
    home = model.device
    device = pick_device(device) if isinstance(device, str) else device
    model.to(device)
    train_x = train_x.to(device)
    if config.threads:
        torch.set_num_threads(config.threads)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    result = TrainResult()
    good_state = copy.deepcopy(model.state_dict())
    start = time.perf_counter()
    try:
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.randperm(len(train_x), generator=generator, device=device)
            total = 0.0
            for i in range(0, len(train_x), config.batch_size):
                batch = train_x[order[i:i + config.batch_size]]
                loss = model.loss(batch, generator=generator)["loss"]
                if not torch.isfinite(loss):
                    model.load_state_dict(good_state)
                    last = f"epoch {epoch - 1}" if epoch > 1 else "the start"
                    result.stopped = (f"the loss became {loss.item()} at epoch {epoch}, batch "
                                      f"{i // config.batch_size + 1}; the weights from {last} were restored. "
                                      f"Try a smaller learning rate.")
                    return result
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
                if should_stop is not None and should_stop():
                    model.load_state_dict(good_state)
                    result.stopped = f"stopped by request during epoch {epoch}; kept the weights of the last full epoch"
                    return result
            terms = evaluate(model, test_x.to(device), seed=config.seed)
            if not all(math.isfinite(v) for v in terms.values()):
                model.load_state_dict(good_state)
                result.stopped = f"the held-out loss became non-finite at epoch {epoch}; restored the previous weights"
                return result
            good_state = copy.deepcopy(model.state_dict())
            stats = {"epoch": epoch, "epochs": config.epochs, "train_loss": total / len(train_x),
                     "heldout_loss": terms["loss"], "terms": terms, "seconds": time.perf_counter() - start}
            result.history.append(stats)
            if on_progress is not None:
                on_progress(stats)
            if config.max_seconds is not None and time.perf_counter() - start > config.max_seconds:
                if epoch < config.epochs:
                    result.stopped = f"reached the {config.max_seconds:g}-second time cap after epoch {epoch}"
                break
    finally:
        model.eval().to(home)
        result.seconds = time.perf_counter() - start
    return result


def _split(data) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(data, tuple):
        return data
    return data.train, data.test


def training_record(result: TrainResult, dataset, train_config: TrainConfig, command: str | None = None) -> dict:
    """What a checkpoint records about how it was made."""
    return {
        "dataset": dataset.name,
        "data_source": dataset.source,
        "train_size": len(dataset.train),
        "heldout_size": len(dataset.test),
        "epochs": result.epochs_completed,
        "train": train_config.to_dict(),
        "final_train_loss": result.final_train_loss,
        "final_heldout_loss": result.final_heldout_loss,
        "stopped": result.stopped,
        "seconds": round(result.seconds, 2),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "torch": torch.__version__,
    }


# --- command line ---------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description="Train an autoencoder and save it.")
    p.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, olivetti, lfw")
    p.add_argument("--source", default="bundled", help="auto, bundled, local, download")
    p.add_argument("--data-dir", default=None, help="folder with local data files (else $AE_DATA_DIR)")
    p.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("H", "W"))
    p.add_argument("--kind", default="ae", choices=["ae", "vae"])
    p.add_argument("--arch", default="dense", choices=["dense", "conv"])
    p.add_argument("--hidden", type=int, nargs="*", default=[256], help="dense widths or conv channels")
    p.add_argument("--latent", type=int, default=2)
    p.add_argument("--activation", default="relu")
    p.add_argument("--code-activation", default="identity")
    p.add_argument("--output-activation", default="auto")
    p.add_argument("--tied", action="store_true")
    p.add_argument("--loss", default="bce", choices=["bce", "mse"])
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--noise", default="none")
    p.add_argument("--noise-level", type=float, default=0.0)
    p.add_argument("--sparsity", default="none")
    p.add_argument("--sparsity-weight", type=float, default=0.0)
    p.add_argument("--sparsity-target", type=float, default=0.05)
    p.add_argument("--contractive-weight", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    p.add_argument("--out", required=True, help="checkpoint path stem, e.g. pretrained/mnist_vae2")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    from models.checkpoint import save_checkpoint  # noqa: PLC0415 (keeps `import models.train` light)
    from models.data import load_dataset  # noqa: PLC0415

    data = load_dataset(args.dataset, source=args.source, data_dir=args.data_dir,
                        image_size=tuple(args.image_size) if args.image_size else None)
    model_config = ModelConfig(
        kind=args.kind, arch=args.arch, input_shape=data.image_shape, hidden=tuple(args.hidden),
        latent=args.latent, activation=args.activation, code_activation=args.code_activation,
        output_activation=args.output_activation, tied=args.tied, loss=args.loss, beta=args.beta,
        noise=args.noise, noise_level=args.noise_level, sparsity=args.sparsity,
        sparsity_weight=args.sparsity_weight, sparsity_target=args.sparsity_target,
        contractive_weight=args.contractive_weight,
    ).validate()
    train_config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                               threads=args.threads).validate()
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
    command = "python -m models.train " + shlex.join(argv)
    weights, document = save_checkpoint(model, args.out, training_record(result, data, train_config, command))
    print(f"saved {weights} and {document}")
    return 0 if result.history else 1


if __name__ == "__main__":
    sys.exit(main())
