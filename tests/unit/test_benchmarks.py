"""Benchmarks cannot rot: each script's quick mode runs here (marker `slow`; `browser` too where it drives
Chromium), and the maths they report is checked by hand."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from benchmarks import quality
from models.data import load_dataset
from tests import ROOT

BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))

# What each quick mode must print, beyond exiting with 0.
EXPECTED = {
    "quality.py": ["ours/ref", "IWAE k=4", "classes", "denoised dB", "quick mode"],
    "train_speed.py": ["samples/s", "reference", "same recipe", "same, bf16", "fast recipe", "bare steps", "per run",
                       "bfloat16 arithmetic native", "quick mode"],
    "startup.py": ["app /latent", "app / ÷ bare", "quick mode"],
    "latency.py": ["Hover → decoded pixels drawn", "frames sent", "floor: bare fragment image", "/ floor",
                   "A class at once", "quick mode"],
    "upload_scoring.py": ["bounded score", "every image", "quick mode"],
    "load.py": ["failures: 0 (", "every run ended: True", "while the class trains", "memory over time", "quick mode"],
}
SHARED = {"harness.py", "services.py", "__init__.py"}  # what the scripts import, not a benchmark
IN_THE_BROWSER = {"latency.py", "load.py", "startup.py"}  # their quick modes start servers and Chromium


def _quick(script: Path):
    marks = [pytest.mark.slow] + ([pytest.mark.browser]
                                  if script.name in IN_THE_BROWSER else [])
    return pytest.param(script, marks=marks, id=script.name)


def test_every_benchmark_script_is_covered():
    assert {p.name for p in BENCHMARKS} - SHARED == set(EXPECTED)


@pytest.mark.parametrize("script", [_quick(p) for p in BENCHMARKS if p.name not in SHARED])
def test_quick_mode_runs(script):
    done = subprocess.run([sys.executable, str(script), "--quick"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for text in EXPECTED.get(script.name, []):
        assert text in done.stdout, (text, done.stdout[-2000:])


@pytest.mark.slow
@pytest.mark.browser
def test_the_load_benchmark_runs_a_class_through_redis_in_quick_mode():
    """load.py --queue-url local: two app servers, a redis-server of its own, two workers."""
    done = subprocess.run([sys.executable, "benchmarks/load.py", "--quick", "--queue-url", "local"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for text in ["2 servers sharing one Redis queue with 2 workers", *EXPECTED["load.py"]]:
        assert text in done.stdout, (text, done.stdout[-2000:])


class OnePixel(nn.Module):
    """x ∈ {0,1}, z ~ N(0,1), p(x=1|z) = σ(a z + c); q(z|x) = N(m, s²) whatever x."""

    a, c, m, log_s2 = 2.0, -0.5, 0.3, math.log(0.6)

    def encode_stats(self, x):
        n = len(x)
        return torch.full((n, 1), self.m), torch.full((n, 1), self.log_s2)

    def decode_logits(self, z):
        return (self.a * z + self.c).reshape(-1, 1, 1, 1)


def _exact_nll(x: float, model=OnePixel) -> float:
    """−log ∫ N(z; 0, 1) Bern(x; σ(az + c)) dz by the trapezoid rule."""
    z = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    p1 = torch.sigmoid(model.a * z + model.c)
    density = torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi) * (p1 if x == 1 else 1 - p1)
    return -math.log(float(torch.trapezoid(density, z)))


def test_iwae_bound_tightens_with_k_towards_the_exact_likelihood():
    x = torch.tensor([1.0, 0.0] * 200).reshape(400, 1, 1, 1)  # many images: the sampling noise averages out
    exact = (_exact_nll(1.0) + _exact_nll(0.0)) / 2
    bounds = [quality.iwae_nll(OnePixel(), x, k, seed=0, batch_size=100) for k in (1, 10, 5000)]
    assert bounds[0] > bounds[1] > bounds[2] > exact - 0.01  # a bound: never far below the truth
    assert bounds[2] == pytest.approx(exact, abs=0.01)


def test_iwae_with_one_sample_is_the_one_sample_elbo():
    x = torch.tensor([1.0]).reshape(1, 1, 1, 1)
    m, s = OnePixel.m, math.exp(0.5 * OnePixel.log_s2)
    eps = float(torch.randn((1, 1, 1), generator=torch.Generator().manual_seed(3)))
    z = m + s * eps
    log_px_z = math.log(torch.sigmoid(torch.tensor(OnePixel.a * z + OnePixel.c)).item())
    log_pz = -0.5 * (z**2 + math.log(2 * math.pi))
    log_qz = -0.5 * (eps**2 + math.log(2 * math.pi) + OnePixel.log_s2)
    assert quality.iwae_nll(OnePixel(), x, 1, seed=3) == pytest.approx(-(log_px_z + log_pz - log_qz), rel=1e-5)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist", source="bundled")


def test_shipped_digit_classifier_reads_held_out_digits(digits):
    classifier = quality.load_classifier()
    assert quality.accuracy(classifier, digits.test, digits.test_labels) >= 0.95
    assert sum(p.numel() for p in classifier.parameters()) < 50_000


class Gallery(nn.Module):
    """A 'decoder' that shows a real digit of class (cell index mod `classes`) in each grid cell: for each
    class, the held-out digit the classifier is surest of, so the count tests the counting alone."""

    def __init__(self, digits, classes):
        super().__init__()
        with torch.no_grad():
            probs = quality.load_classifier()(digits.test).softmax(1)
        picks = [digits.test[int(probs[:, c].argmax())] for c in range(classes)]
        self.logits = torch.logit(torch.stack(picks).clamp(1e-4, 1 - 1e-4))

    def decode_logits(self, z):
        return self.logits[torch.arange(len(z)) % len(self.logits)]


@pytest.mark.parametrize("classes", [3, 10])
def test_manifold_class_count_counts_the_digits_shown(digits, classes):
    present, confident = quality.manifold_classes(Gallery(digits, classes), quality.load_classifier())
    assert present == classes and confident <= present
