"""How the encoder squeezes space around an input: the Jacobian J = ∂h/∂x of the code h = encode(x).

A small step δ in the input moves the code by about Jδ. J's singular values σ₁ ≥ σ₂ ≥ … say how far: a step along
the right singular vector vₖ (an image) moves the code by σₖ per unit of step length. A contractive autoencoder's
penalty is ‖J‖²_F = Σ σₖ², so training it squeezes every direction, and only those the reconstruction needs stay
large. J has at most `latent` non-zero singular values: every other input direction leaves the code unchanged to
first order.

The Jacobian is computed by autograd for any encoder (torch.func.vmap over jacrev). For many images at once only
the singular values are kept, as the square roots of the eigenvalues of the small Gram matrix JJᵀ in float64; for
one chosen input the full SVD gives the directions too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.autoencoders import Autoencoder
from models.errors import ConfigError

CHUNK = 100  # images per Jacobian batch: 100 × 100 units × 784 pixels is 31 MB in float32


def encoder_jacobian(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    """(N, latent, input_dim) ∂h/∂x for each image of x (N, C, H, W), float32. The model is left as it is."""
    def code(one: torch.Tensor) -> torch.Tensor:
        return model.encode(one[None])[0]

    jac = torch.func.vmap(torch.func.jacrev(code))(x.float().to(model.device))
    return jac.flatten(2).detach().cpu()


def jacobian_singular_values(jac: torch.Tensor) -> torch.Tensor:
    """(N, min(latent, input_dim)) the singular values of each Jacobian, largest first, in float64: the square
    roots of the eigenvalues of JJᵀ (or JᵀJ, the smaller one), clipped at 0 against rounding."""
    jac = jac.double()
    gram = jac @ jac.transpose(1, 2) if jac.shape[1] <= jac.shape[2] else jac.transpose(1, 2) @ jac
    return torch.linalg.eigvalsh(gram).flip(-1).clamp_min(0).sqrt()


@dataclass(frozen=True)
class Contraction:
    """The singular values of ∂h/∂x at each of N images."""

    singular: torch.Tensor  # (N, k) float64, largest first
    latent: int
    input_dim: int

    @property
    def images(self) -> int:
        return len(self.singular)

    @property
    def frobenius(self) -> torch.Tensor:
        """(N,) ‖J‖_F = √(Σ σₖ²): how far the code moves for a random unit step, up to a constant."""
        return self.singular.pow(2).sum(1).sqrt()

    @property
    def mean_frobenius(self) -> float:
        return float(self.frobenius.mean())

    @property
    def mean_squared_frobenius(self) -> float:
        """Mean ‖J‖²_F: the contractive penalty before its weight."""
        return float(self.singular.pow(2).sum(1).mean())

    @property
    def mean_top(self) -> float:
        """Mean σ₁: how far the code moves along its most sensitive direction, per unit step."""
        return float(self.singular[:, 0].mean())

    @property
    def mean_spectrum(self) -> torch.Tensor:
        """(k,) the mean k-th singular value over the images."""
        return self.singular.mean(0)


def contraction(model: Autoencoder, x: torch.Tensor, chunk: int = CHUNK) -> Contraction:
    """The singular values of the encoder's Jacobian at every image of x, a chunk of images at a time."""
    if len(x) == 0:
        raise ConfigError("the contraction needs at least one image")
    values = [jacobian_singular_values(encoder_jacobian(model, x[i:i + chunk])) for i in range(0, len(x), chunk)]
    return Contraction(singular=torch.cat(values), latent=model.config.latent, input_dim=x[0].numel())


@dataclass(frozen=True)
class Directions:
    """At one input: J's singular values and the input-space directions (right singular vectors) they belong to."""

    values: torch.Tensor  # (k,) float64, largest first
    vectors: torch.Tensor  # (k, C, H, W) float64, unit length: step along vectors[i] moves the code by values[i]
    input_dim: int

    @property
    def nonzero(self) -> int:
        """Directions the code follows at all: σ above the rounding of the float32 Jacobian (scaled by σ₁); the rest
        of the input_dim do not move it to first order."""
        tolerance = self.values[0] * max(len(self.values), self.input_dim) * torch.finfo(torch.float32).eps
        return int((self.values > tolerance).sum())


def sensitive_directions(model: Autoencoder, x: torch.Tensor) -> Directions:
    """J's SVD at one image x (C, H, W) or (1, C, H, W): the directions the code is most and least sensitive to."""
    one = x.reshape(1, *model.config.input_shape)
    jac = encoder_jacobian(model, one)[0].double()
    _, values, vh = torch.linalg.svd(jac, full_matrices=False)
    return Directions(values=values, vectors=vh.reshape(len(values), *model.config.input_shape),
                      input_dim=jac.shape[1])


def contraction_lead(contractive: Contraction, plain: Contraction, what: str) -> str:
    """The decisive numbers first: both models' mean ‖J‖_F and σ₁ over the same images, and their ratio."""
    ratio = plain.mean_frobenius / contractive.mean_frobenius if contractive.mean_frobenius > 0 else float("inf")
    smaller = f"**{ratio:.0f}× smaller**" if ratio >= 1 else f"**{1 / ratio:.1f}× larger**"
    return (f"Over the same {contractive.images:,} {what}, the contractive encoder's Jacobian has mean "
            f"‖∂h/∂x‖_F = **{contractive.mean_frobenius:.2f}** against the plain encoder's "
            f"**{plain.mean_frobenius:.2f}** ({smaller}); along its most sensitive direction the code moves "
            f"σ₁ = **{contractive.mean_top:.2f}** per unit step against **{plain.mean_top:.2f}**.")


def null_directions(latent: int, input_dim: int) -> str:
    """Why most input directions never reach the code: J has at most `latent` non-zero singular values."""
    if latent >= input_dim:
        return ""
    return (f"J is {latent}×{input_dim}, so it has at most {latent} non-zero singular values: the other "
            f"{input_dim - latent:,} input directions do not move the code at all, to first order.")
