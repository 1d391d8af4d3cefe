"""Quality of the shipped models against a well-known reference, measured in the same run.

    .venv/bin/python benchmarks/quality.py [--epochs N] [--skip-latent20]

1. VAE: the MLP VAE of pytorch/examples `vae/main.py` (784-400-z, ReLU, BCE + KL, Adam 1e-3, batch 128),
   re-implemented from its description, trained on the same 4,500 bundled training digits for the same
   number of epochs as the shipped VAE, against ours, for latent 2 and latent 20. "Ours" is the shipped
   recipe for that regime: mnist_vae2 itself (512-256) at latent 2, and mnist_vae16's recipe (one 512 layer)
   retrained at latent 20.
   Figure: held-out loss per sample, (Σ BCE + KL) / N, both evaluated the same way (one sampled z per image
   with a fixed seed). Ours must be ≤ the reference.
2. Denoising: PSNR (torchmetrics) of noisy and of denoised held-out digits at Gaussian σ = 0.3 and 0.5.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.autoencoders import build_model  # noqa: E402
from models.catalog import load_catalog  # noqa: E402
from models.checkpoint import load_checkpoint  # noqa: E402
from models.config import TrainConfig  # noqa: E402
from models.data import load_dataset  # noqa: E402
from models.noise import corrupt  # noqa: E402
from models.train import train  # noqa: E402


class ReferenceVAE(nn.Module):
    """pytorch/examples vae/main.py: fc1 784→400, fc21/fc22 400→z, fc3 z→400, fc4 400→784."""

    def __init__(self, latent: int):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, latent), nn.Linear(400, latent)
        self.fc3, self.fc4 = nn.Linear(latent, 400), nn.Linear(400, 784)

    def forward(self, x, generator=None):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn(mu.shape, generator=generator) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def reference_loss(recon, mu, logvar, x):
    """Summed over the batch, as in the reference: BCE(sum) + KLD."""
    bce = F.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def train_reference(latent: int, train_x: torch.Tensor, epochs: int, seed: int = 0) -> ReferenceVAE:
    torch.manual_seed(seed)
    model = ReferenceVAE(latent)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in train_x[torch.randperm(len(train_x), generator=generator)].split(128):
            optimizer.zero_grad()
            loss = reference_loss(*model(batch, generator), batch)
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def reference_heldout(model: ReferenceVAE, test_x: torch.Tensor, seed: int = 0) -> float:
    generator = torch.Generator().manual_seed(seed)
    return float(sum(reference_loss(*model(b, generator), b) for b in test_x.split(1000))) / len(test_x)


@torch.no_grad()
def ours_heldout(model, test_x: torch.Tensor, seed: int = 0) -> float:
    """Same estimator: Σ over images of (BCE + KL) with one sampled z each, divided by N."""
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for batch in test_x.split(1000):
        terms = model.loss(batch, corrupt_input=False, generator=generator)
        total += float(terms["recon"] + terms["kl"]) * len(batch)
    return total / len(test_x)


def vae_comparison(data, skip_latent20: bool, epochs: int | None) -> list[tuple]:
    catalog = {e.name: e for e in load_catalog()}
    rows = []
    for latent, name in ((2, "mnist_vae2"),) + (() if skip_latent20 else ((20, "mnist_vae16"),)):
        shipped, record = load_checkpoint(catalog[name].path)
        n_epochs = epochs or record["epochs"]
        t0 = time.perf_counter()
        reference = train_reference(latent, data.train, n_epochs)
        ref_seconds = time.perf_counter() - t0
        if latent == shipped.config.latent and n_epochs == record["epochs"]:
            ours, our_seconds = shipped, record["seconds"]
        else:
            config = type(shipped.config)(**{**shipped.config.to_dict(), "latent": latent})
            torch.manual_seed(0)
            ours = build_model(config)
            t0 = time.perf_counter()
            train(ours, data, TrainConfig(epochs=n_epochs, batch_size=record["train"]["batch_size"],
                                          lr=record["train"]["lr"], seed=0))
            our_seconds = time.perf_counter() - t0
        ref_loss, our_loss = reference_heldout(reference, data.test), ours_heldout(ours, data.test)
        rows.append((latent, name, n_epochs, ref_loss, our_loss, our_loss / ref_loss, ref_seconds, our_seconds))
    return rows


def denoising_figures(data) -> list[tuple]:
    from torchmetrics.functional.image import peak_signal_noise_ratio as psnr

    entry = {e.name: e for e in load_catalog()}["mnist_dcae16"]
    model, _ = load_checkpoint(entry.path)
    clean = data.test
    rows = []
    for sigma in (0.3, 0.5):
        noisy = corrupt(clean, "gaussian", sigma, torch.Generator().manual_seed(0))
        denoised = model.reconstruct(noisy)
        noisy_db = float(psnr(noisy, clean, data_range=1.0))
        denoised_db = float(psnr(denoised, clean, data_range=1.0))
        rows.append((sigma, noisy_db, denoised_db, denoised_db - noisy_db))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="override the shipped model's epochs")
    parser.add_argument("--skip-latent20", action="store_true")
    args = parser.parse_args(argv)
    data = load_dataset("mnist", source="bundled")
    print(f"data: {data.source}")
    print("\nVAE held-out loss per sample, (Σ BCE + KL)/N on 500 held-out digits (lower is better)")
    print(f"{'latent':>6} {'ours (recipe)':>14} {'epochs':>6} {'reference':>10} {'ours':>10} {'ours/ref':>9} "
          f"{'ref s':>7} {'ours s':>7}")
    ok = True
    for latent, name, epochs, ref, ours, ratio, ref_s, our_s in vae_comparison(data, args.skip_latent20, args.epochs):
        print(f"{latent:>6} {name:>14} {epochs:>6} {ref:>10.2f} {ours:>10.2f} {ratio:>9.3f} {ref_s:>7.1f} "
              f"{our_s:>7.1f}")
        ok &= ratio <= 1.0
    print("\nDenoising conv AE (mnist_dcae16): PSNR on 500 held-out digits, Gaussian noise")
    print(f"{'sigma':>6} {'noisy dB':>9} {'denoised dB':>12} {'gain dB':>8}")
    for sigma, noisy_db, denoised_db, gain in denoising_figures(data):
        print(f"{sigma:>6.1f} {noisy_db:>9.2f} {denoised_db:>12.2f} {gain:>8.2f}")
        ok &= gain >= 6.0 if sigma == 0.5 else True
    print(f"\n{'PASS' if ok else 'FAIL'}: ours ≤ reference for every latent size, denoising gain ≥ 6 dB at σ=0.5")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
