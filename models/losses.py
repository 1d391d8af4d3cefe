"""Loss terms, each summed over a sample's pixels or units and averaged over the samples in the batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_with_logits(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy −Σ[x log x̂ + (1−x) log(1−x̂)] with x̂ = sigmoid(logits), mean over samples.

    Taking logits keeps it finite where x̂ would round to exactly 0 or 1. Computed in at least float32, also
    when the logits come from bfloat16 layers (mixed precision).
    """
    if logits.shape != x.shape:
        raise ValueError(f"BCE needs logits and targets of one shape, got {tuple(logits.shape)} and {tuple(x.shape)}")
    if x.requires_grad:  # a target being learned: torch's own op, which also gives ∂/∂x
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    return _SummedBCE.apply(logits, x) / x.shape[0]


class _SummedBCE(torch.autograd.Function):
    """Σ [max(l, 0) − l·x + log(1 + e^−|l|)], the stable form of BCE with logits, and its gradient sigmoid(l) − x.

    Same value and gradient as F.binary_cross_entropy_with_logits(reduction="sum"), at about a third of its
    cost on a CPU: torch's version goes through log1p, which this CPU build does not vectorise (a tenth of a
    dense VAE's training step; benchmarks/train_speed.py). log(1 + e) differs from log1p(e) by at most
    ~6e-8 per pixel, far below what float32 sums of 784 pixels resolve.
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        wide = _at_least_float32(logits)
        ctx.save_for_backward(logits, x)
        # Σ max(l, 0) − Σ l·x + Σ log(1 + e^−|l|), as three sums worked in place: fewer passes over the batch
        soft = wide.abs().neg_().exp_().add_(1).log_().sum()
        return wide.clamp_min(0).sum() - torch.dot(wide.flatten(), x.to(wide.dtype).flatten()) + soft

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        logits, x = ctx.saved_tensors
        return ((torch.sigmoid(_at_least_float32(logits)) - x) * grad).to(logits.dtype), None


def _at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """bfloat16/float16 (under autocast) widened to float32; float32 and float64 kept as they are."""
    return t.float() if t.dtype in (torch.bfloat16, torch.float16) else t


def half_squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """½‖x − x̂‖², mean over samples."""
    x_hat = _at_least_float32(x_hat)
    return 0.5 * (x_hat - x).pow(2).sum() / x.shape[0]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), mean over samples (in at least float32)."""
    mu, logvar = _at_least_float32(mu), _at_least_float32(logvar)
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / mu.shape[0]


def l1_sparsity(h: torch.Tensor) -> torch.Tensor:
    """Σ_j |h_j|, mean over samples."""
    h = _at_least_float32(h)
    return h.abs().sum() / h.shape[0]


def kl_sparsity(h: torch.Tensor, rho: float, eps: float = 1e-6) -> torch.Tensor:
    """Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j the batch-mean activation of unit j (codes in (0,1))."""
    h = _at_least_float32(h)  # in bfloat16, 1 − eps would round to 1 and log(1 − ρ̂) to −inf
    rho_hat = h.mean(dim=0).clamp(eps, 1 - eps)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def sigmoid_contractive(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Closed form of ‖∂h/∂x‖²_F for h = sigmoid(Wx + b): Σ_j (h_j(1−h_j))² Σ_i W_ji², mean over samples."""
    h = _at_least_float32(h)
    return ((h * (1 - h)).pow(2) * weight.pow(2).sum(dim=1)).sum() / h.shape[0]


def jacobian_frobenius(encode, x: torch.Tensor, create_graph: bool = True) -> torch.Tensor:
    """‖∂h/∂x‖²_F by autograd for any encoder, mean over samples; differentiable when create_graph.

    One backward pass per code unit: samples are independent, so the gradient of Σ_n h_nj
    gives row j of every sample's Jacobian at once. Evaluation passes create_graph=False, which frees
    each pass's graph at once instead of keeping every one alive for a backward that never comes.
    """
    x = x.detach().requires_grad_(True)
    h = encode(x)
    total = x.new_zeros(())
    for j in range(h.shape[1]):
        (grad,) = torch.autograd.grad(h[:, j].sum(), x, create_graph=create_graph, retain_graph=True)
        total = total + grad.pow(2).sum()
    return total / x.shape[0]
