"""Is a model fit to show: its codes and outputs on held-out images finite and within sane bounds, and its
held-out loss measured within a bounded cost.

A checkpoint can be finite yet useless: weights that are large but not infinite give codes of 1e35 or NaN
outputs once multiplied through a few layers, and every page would then fail in its own way (slider bounds
JavaScript cannot hold, pixels outside [0, 1]). Checking the behaviour once, when a model enters the app, keeps
that out of the pages. Scoring is bounded because an expensive but valid model (a contractive penalty by
autograd costs one backward pass per code unit) would otherwise hold a shared server for a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from models.autoencoders import Autoencoder
from models.training.trainer import evaluate

MAX_CODE = 1e6  # shipped models' codes stay below 40; a slider or plot axis past this shows nothing useful
MAX_LOGIT = 1e6  # decoder outputs before the output activation: a pixel is in [0, 1]
CHECK_IMAGES = 256  # held-out images whose codes and outputs are checked
PROBE_CODES = 64  # extra codes spread over (and around) the held-out codes' range, where the pages decode
# Scoring work, counted as passes over the network per image × its parameters (about its multiply-adds). The
# budget is 16 images of issue 9's dense hidden-1024, latent-1024 contractive model: 1-2 s on an idle 2-core
# server, where all 500 held-out images took 7-8 s (57 s under load).
MAX_SCORE_WORK = 6e10
SAMPLE_CHUNKS = 2  # a sample is scored in this many evaluate() calls, so that the time cap can cut in between
SCORE_SECONDS = 5.0  # stop scoring after the chunk that passes this


def _sample(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """The first k of a fixed permutation of n: a spread sample (held-out sets are often sorted by class)."""
    if k >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k]


def _out_of_bounds(values: torch.Tensor, limit: float) -> str | None:
    if not torch.isfinite(values).all():
        return "NaN or infinite"
    largest = float(values.abs().max()) if values.numel() else 0.0
    return f"as large as {largest:.3g} (at most ±{limit:.0e} is accepted)" if largest > limit else None


@torch.no_grad()
def behaviour_problem(model: Autoencoder, images: torch.Tensor) -> str | None:
    """None if the model's codes on held-out images, and its decoder's outputs on those codes and on codes
    spread across their range (where the latent pages decode), are finite and within bounds; else what is
    wrong, in words."""
    x = images[_sample(len(images), CHECK_IMAGES)]
    codes = model.embed(x)
    problem = _out_of_bounds(codes, MAX_CODE)
    if problem:
        return f"its codes of held-out images are {problem}"
    generator = torch.Generator().manual_seed(0)
    low, high = codes.min(0).values, codes.max(0).values
    pad = (high - low) / 2 + 1.0  # the pages' slider ranges reach a little past the codes
    spread = low - pad + torch.rand(PROBE_CODES, codes.shape[1], generator=generator) * (high - low + 2 * pad)
    probes = [codes, spread]
    if model.has_prior:  # a VAE is also decoded at samples of its N(0, I) prior
        probes.append(3 * torch.randn(PROBE_CODES, codes.shape[1], generator=generator))
    outputs = model.decode_logits(torch.cat(probes).to(model.device))
    problem = _out_of_bounds(outputs, MAX_LOGIT)
    if problem:
        return f"its decoder's outputs (before the output activation) on codes like its held-out ones are {problem}"
    return None


@dataclass(frozen=True)
class Score:
    terms: dict[str, float]  # mean loss terms per image, as models.training.trainer.evaluate gives them
    images: int  # held-out images scored
    total: int  # held-out images there are
    reason: str | None  # why fewer than all were scored; None when all were

    @property
    def loss(self) -> float:
        return self.terms["loss"]


def passes_per_image(model: Autoencoder) -> int:
    """Passes over the network that scoring one image takes: an autograd contractive penalty needs a backward
    pass per code unit; everything else (that penalty's closed form for a single sigmoid layer included) one."""
    cfg = model.config
    by_autograd = cfg.contractive_weight > 0 and not (cfg.single_layer and cfg.code_activation == "sigmoid")
    return cfg.latent if by_autograd else 1


def work_per_image(model: Autoencoder) -> int:
    return passes_per_image(model) * sum(p.numel() for p in model.parameters())


def score_heldout(model: Autoencoder, images: torch.Tensor, max_work: float = MAX_SCORE_WORK,
                  max_seconds: float = SCORE_SECONDS, clock: Callable[[], float] = time.perf_counter) -> Score:
    """The held-out loss terms on all images when that is cheap (then exactly evaluate()'s numbers), else on a
    fixed sample sized to `max_work`, stopping early once `max_seconds` have passed."""
    work = work_per_image(model)
    total = len(images)
    wanted = min(total, max(1, int(max_work // work)))
    chunk = total if wanted == total else -(-wanted // SAMPLE_CHUNKS)
    order = torch.arange(total) if wanted == total else _sample(total, wanted)
    sums: dict[str, float] = {}
    done, start = 0, clock()
    while done < wanted:
        part = images[order[done:done + chunk]]
        for key, value in evaluate(model, part).items():
            sums[key] = sums.get(key, 0.0) + value * len(part)
        done += len(part)
        if done < wanted and clock() - start > max_seconds:
            break
    terms = {key: value / done for key, value in sums.items()}
    reason = None
    if done < wanted:
        reason = f"scoring stopped at the {max_seconds:g}-second cap"
    elif wanted < total:
        passes = passes_per_image(model)
        why = (f"its contractive penalty by autograd costs {passes:,} backward passes per image (one per code unit)"
               if passes > 1 else f"it has {work:,} parameters")
        reason = f"{why}, so a sample was scored"
    return Score(terms, done, total, reason)
