"""Training speed: our trainer against the pytorch/examples VAE loop, alternating, in the same run.

    .venv/bin/python benchmarks/train_speed.py [--runs 5] [--epochs 50] [--threads N] [--quick]

The reference is the loop of pytorch/examples `vae/main.py`: a `DataLoader` over a `TensorDataset`, batch 128,
shuffled, Adam 1e-3, and a test pass over the held-out set after every epoch. Its model is the 784-400-20 MLP
VAE (benchmarks/quality.py's ReferenceVAE). Ours is `models.training.trainer.train` on the same 784-400-20 VAE built from a
ModelConfig, on the same 4,500 digits, which also scores the held-out set after every epoch. Rows of ours:
- "same recipe": batch 128, Adam 1e-3, float32: the trainer alone;
- "same, bf16": the same with mixed precision (TrainConfig.precision="bfloat16": the step's matmuls in
  bfloat16 under autocast, weights, Adam and every held-out score in float32);
- "fast recipe": mixed precision, batch 256, Adam 3e-3 and a moving average of the weights (EMA 0.995): the
  best of the recipes tried (benchmarks/README.md, "Training speed").
And "bare steps": the same model's float32 forward, backward and Adam step on batches of 128 and nothing else,
the most the same recipe can reach.
Each run trains the reference and then each of ours with the same seed; samples/s counts training images seen
per second of wall time, held-out evaluations included. Held-out loss: (Σ BCE + KL)/N on the 500 held-out
digits, one sampled z per image with a fixed seed, the estimator of benchmarks/quality.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import ReferenceVAE, ours_heldout, reference_heldout, reference_loss  # noqa: E402

from models.autoencoders import build_model  # noqa: E402
from models.config import ModelConfig, TrainConfig  # noqa: E402
from models.data import load_dataset  # noqa: E402
from models.training.trainer import make_adam, native_bfloat16, train  # noqa: E402

CEILING = "bare steps"
MODEL = ModelConfig(kind="vae", arch="dense", hidden=(400,), latent=20)  # the reference's 784-400-20 VAE
OURS = {
    "same recipe": dict(batch_size=128, lr=1e-3),
    "same, bf16": dict(batch_size=128, lr=1e-3, precision="bfloat16"),
    "fast recipe": dict(batch_size=256, lr=3e-3, ema=0.995, precision="bfloat16"),
}


def reference_run(train_x: torch.Tensor, test_x: torch.Tensor, epochs: int, seed: int) -> tuple[float, float]:
    """pytorch/examples vae/main.py's train() and test() loops; returns (seconds, held-out loss)."""
    torch.manual_seed(seed)
    model = ReferenceVAE(20)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader(TensorDataset(train_x), batch_size=128, shuffle=True)
    test_loader = DataLoader(TensorDataset(test_x), batch_size=128, shuffle=False)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        train_loss = 0.0
        for (data,) in train_loader:
            optimizer.zero_grad()
            loss = reference_loss(*model(data), data)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for (data,) in test_loader:
                test_loss += reference_loss(*model(data), data).item()
    seconds = time.perf_counter() - start
    return seconds, reference_heldout(model.eval(), test_x)


def bare_steps(train_x: torch.Tensor, epochs: int, seed: int) -> tuple[float, None]:
    """The arithmetic alone: our 784-400-20 VAE's forward, backward and Adam step on batches of 128 cut once,
    with no shuffling, no held-out pass and no host sync, in float32: no float32 trainer at batch 128 can beat
    this; returns (seconds, None)."""
    torch.manual_seed(seed)
    model = build_model(MODEL).train()
    optimizer = make_adam(model, TrainConfig(lr=1e-3))  # the trainer's own (fused) Adam
    batches = list(train_x.split(128))
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in batches:
            optimizer.zero_grad(set_to_none=True)
            model.loss(batch)["loss"].backward()
            optimizer.step()
    return time.perf_counter() - start, None


def our_run(data, epochs: int, seed: int, recipe: dict) -> tuple[float, float]:
    torch.manual_seed(seed)
    model = build_model(MODEL)
    start = time.perf_counter()
    train(model, data, TrainConfig(epochs=epochs, seed=seed, **recipe))
    return time.perf_counter() - start, ours_heldout(model, data.test)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None, help="torch threads for both (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="1 run of 1 epoch on 512 digits: checks it runs")
    args = parser.parse_args(argv)
    data = load_dataset("mnist", source="bundled")
    if args.quick:
        args.runs, args.epochs = 1, 1
        data = dataclasses.replace(data, train=data.train[:512], train_labels=None)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = len(data.train)
    print(f"data: {data.source}; {n} training digits, {args.epochs} epochs, {args.runs} runs, "
          f"{torch.get_num_threads()} threads; bfloat16 arithmetic native on this CPU: "
          f"{'yes' if native_bfloat16() else 'no (emulated: the bf16 rows will be slow)'}")
    speeds: dict[str, list[float]] = {"reference": [], **{name: [] for name in OURS}, CEILING: []}
    losses: dict[str, list[float]] = {name: [] for name in speeds}
    print(f"{'run':>3} {'trainer':>12} {'samples/s':>10} {'held-out':>9}")
    for run in range(args.runs):
        results = {"reference": reference_run(data.train, data.test, args.epochs, run)}
        for name, recipe in OURS.items():
            results[name] = our_run(data, args.epochs, run, recipe)
        results[CEILING] = bare_steps(data.train, args.epochs, run)
        for name, (seconds, loss) in results.items():
            speeds[name].append(n * args.epochs / seconds)
            losses[name].append(loss)
            shown = "" if loss is None else f"{loss:>9.2f}"
            print(f"{run:>3} {name:>12} {speeds[name][-1]:>10.0f} {shown}", flush=True)
    ref_speed, ref_loss = statistics.median(speeds["reference"]), statistics.median(losses["reference"])
    print(f"\nmedians over {args.runs} runs. ratio: median samples/s against the reference's median; per run: the "
          f"median of each run's own ratio (the machine's speed drifts between runs)")
    print(f"{'trainer':>12} {'samples/s':>10} {'ratio':>6} {'per run':>8} {'held-out':>9}")
    print(f"{'reference':>12} {ref_speed:>10.0f} {1:>6.2f} {1:>8.2f} {ref_loss:>9.2f}")
    ok = False
    for name in (*OURS, CEILING):
        speed = statistics.median(speeds[name])
        per_run = statistics.median(ours / ref for ours, ref in zip(speeds[name], speeds["reference"]))
        if name == CEILING:
            print(f"{name:>12} {speed:>10.0f} {speed / ref_speed:>6.2f} {per_run:>8.2f}   (float32 at batch 128, "
                  f"the arithmetic alone: the most the same recipe can reach)")
            continue
        loss = statistics.median(losses[name])
        print(f"{name:>12} {speed:>10.0f} {speed / ref_speed:>6.2f} {per_run:>8.2f} {loss:>9.2f}")
        ok |= min(speed / ref_speed, per_run) >= 2 and loss <= ref_loss
    if args.quick:
        print("\nquick mode: the figures above only show that the benchmark runs")
        return 0
    print(f"\n{'PASS' if ok else 'FAIL'}: a recipe of ours at ≥ 2 × the reference's samples/s (both ratios) with a "
          f"held-out loss ≤ the reference's")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
