"""Scoring an uploaded checkpoint: the bounded score (models.training.checks.score_heldout) against scoring every
held-out image (models.training.trainer.evaluate, what the Train page did before), measured in the same run.

    .venv/bin/python benchmarks/upload_scoring.py [--quick] [--threads N]

The model is issue 9's expensive but valid checkpoint: dense, hidden 1024, latent 1024, contractive weight 1,
whose penalty by autograd costs one backward pass per code unit. Figures: seconds for each, their ratio, and
how far the sampled loss lies from the full one. --quick uses a smaller model of the same kind, for the tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.autoencoders import build_model  # noqa: E402
from models.config import ModelConfig  # noqa: E402
from models.data import load_dataset  # noqa: E402
from models.training.checks import MAX_SCORE_WORK, behaviour_problem, score_heldout, work_per_image  # noqa: E402
from models.training.trainer import evaluate  # noqa: E402


def measure(hidden: int, latent: int, images: torch.Tensor, sample: int | None = None) -> dict:
    """`sample`: score that many images (a budget scaled to this model) instead of the app's budget."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(hidden,), latent=latent, contractive_weight=1.0)).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)  # as an upload is held
    budget = MAX_SCORE_WORK if sample is None else sample * work_per_image(model)
    evaluate(model, images[:1])  # warm-up: the first autograd call pays one-off setup costs
    start = time.perf_counter()
    problem = behaviour_problem(model, images)
    score = score_heldout(model, images, max_work=budget)
    bounded = time.perf_counter() - start
    start = time.perf_counter()
    full = evaluate(model, images)["loss"]
    everything = time.perf_counter() - start
    return {"model": f"dense {hidden}, latent {latent}, contractive 1", "problem": problem,
            "bounded_seconds": bounded, "full_seconds": everything, "speedup": everything / bounded,
            "images_scored": score.images, "images": len(images), "bounded_loss": score.loss, "full_loss": full,
            "relative_difference": abs(score.loss - full) / abs(full)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smaller model (hidden 64, latent 64) on 200 images, 20 of them scored")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: leave as is)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    images = load_dataset("mnist", source="bundled").test
    result = measure(64, 64, images[:200], sample=20) if args.quick else measure(1024, 1024, images)
    print(f"{result['model']}: bounded score {result['bounded_seconds']:.2f} s on {result['images_scored']} of "
          f"{result['images']} held-out images; every image {result['full_seconds']:.2f} s; "
          f"{result['speedup']:.1f}× faster; loss {result['bounded_loss']:.2f} vs {result['full_loss']:.2f} "
          f"({result['relative_difference']:.2%} apart)")
    if args.quick:
        print("\nquick mode: the figures above only show that the benchmark runs")
    return result


if __name__ == "__main__":
    main()
