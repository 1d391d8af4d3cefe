"""About / lesson: the notation, the losses, the two questions answered, and which autoencoder to use when."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from pages.common import catalog, ensure_routed


@dataclass(frozen=True)
class Kind:
    title: str
    icon: str
    text: str
    page: str
    link: str
    models: dict = field(default_factory=dict)  # query parameters naming the catalog model(s) to open with


KINDS = [
    Kind("Undercomplete", "🗜️",
         "The code is smaller than the input, so the network cannot copy and must compress: it keeps what "
         "matters most for reconstruction. The basic choice for dimensionality reduction and for seeing what a "
         "model keeps and loses.",
         "pages/reconstructions.py", "See what a 2-number code keeps", {"model": "mnist_ae2"}),
    Kind("Overcomplete", "🎈",
         "The code is as wide as the input or wider, so on its own it could learn the identity and teach "
         "nothing. It only becomes useful with a constraint: sparsity, noise or contraction. (No model here is "
         "overcomplete; the sparse one shows the penalty that makes a wide code work.)",
         "pages/features.py", "See a sparsity penalty at work",
         {"left": "mnist_sparse100", "right": "mnist_untied100"}),
    Kind("Deep", "🏗️",
         "Several layers on each side instead of one, so the encoder can build features of features and the "
         "code can be much smaller for the same quality. Trained end to end with the same loss.",
         "pages/latent.py", "Explore a deep AE's 2-D code", {"model": "mnist_ae2"}),
    Kind("Denoising", "🧹",
         "Corrupt the input (Gaussian noise, masking, salt and pepper) and ask for the clean image back. It "
         "cannot copy, so it learns what digits look like, and it cleans noisy images.",
         "pages/denoising.py", "Denoise digits", {"model": "mnist_dcae16"}),
    Kind("Sparse", "✨",
         "A penalty on the hidden activations keeps most units near zero for any one input. Each unit then "
         "specialises, and its features look like strokes rather than blurry whole digits.",
         "pages/features.py", "Compare sparse features", {"left": "mnist_sparse100", "right": "mnist_untied100"}),
    Kind("Contractive", "🪢",
         "A penalty on the encoder's Jacobian, $\\lVert J_f(x) \\rVert_F^2$, makes the code insensitive to small "
         "input changes. "
         "Only the directions the data really varies along survive the reconstruction loss.",
         "pages/features.py", "Compare contractive features",
         {"left": "mnist_contractive100", "right": "mnist_untied100"}),
    Kind("Convolutional", "🧩",
         "Convolutions share each small filter across the image, so there are far fewer weights and a stroke "
         "is recognised wherever it appears. The usual choice for images.",
         "pages/reconstructions.py", "See conv reconstructions", {"model": "mnist_cae16"}),
    Kind("Variational", "🎲",
         "The encoder outputs a Gaussian q(z|x) and a KL term pulls it towards N(0, I), so the code space has "
         "few holes. You can sample new images and walk smoothly between them.",
         "pages/latent.py", "Walk a VAE's latent space", {"model": "mnist_vae2"}),
]


def kind_card(kind: Kind, available: set[str]) -> None:
    with st.container(border=True):
        st.markdown(f"#### {kind.icon} {kind.title}")
        st.markdown(kind.text)
        # Open the page on the model that shows this kind, when that model has been shipped.
        params = kind.models if set(kind.models.values()) <= available else None
        st.page_link(kind.page, label=kind.link, icon="👉", query_params=params or None)


def main() -> None:
    ensure_routed()
    st.title("Autoencoders: a short lesson")
    st.markdown(
        "An autoencoder learns to reproduce its input through a **code**. Copying is easy; the point is "
        "what the code is forced to keep when copying is made hard, by a narrow code, noise, or a penalty."
    )

    st.header("Notation")
    left, right = st.columns(2)
    with left:
        st.markdown("**Encoder**: the code of input $x$")
        st.latex(r"h = f(Wx + b)")
        st.markdown("**Decoder**: the reconstruction from the code")
        st.latex(r"\hat x = g(W'h + b')")
    with right:
        st.markdown("**Tied weights**: the decoder reuses the encoder's matrix")
        st.latex(r"W' = W^\top")
        st.markdown("$f$ is the code's activation (here sigmoid), $g$ the output's; in the single-layer models "
                    "both are sigmoid.")

    st.header("Losses")
    st.markdown("The loss compares $x$ with $\\hat x$, summed over the pixels $k$ of one image.")
    bce, mse = st.columns(2)
    with bce:
        st.markdown("**Binary cross-entropy**, for pixels in [0, 1] with a sigmoid output:")
        st.latex(r"L(x,\hat x) = -\sum_k \big[x_k \log \hat x_k + (1 - x_k)\log(1 - \hat x_k)\big]")
    with mse:
        st.markdown("**Squared error**, for real values (often with an identity output):")
        st.latex(r"L(x,\hat x) = \tfrac12\,\lVert x - \hat x\rVert^2 = \tfrac12 \sum_k (x_k - \hat x_k)^2")
    st.markdown("Training minimises the average over the $N$ samples, and every loss this app reports is "
                "this average, per image:")
    st.latex(r"J = \frac1N \sum_{n=1}^{N} L\big(x^{(n)}, \hat x^{(n)}\big)")

    st.header("Two questions")
    st.subheader("1 · Why untied weights W′ instead of W′ = Wᵀ?")
    st.markdown(
        "- **Tied** weights halve the parameters and act as a regulariser. They also close a loophole: a "
        "penalty on $h$ or on $\\partial h/\\partial x$ could otherwise be dodged by shrinking $W$ and "
        "growing $W'$ to compensate.\n"
        "- **Untied** weights let the decoder learn its own pictures. Reading a feature (the encoder must also "
        "suppress look-alike features) and drawing it are different jobs, so a free $W'$ *can* reconstruct "
        "better for the same code size, given enough data and training to fit twice the weights.\n"
        "- Deep and convolutional autoencoders are almost always untied; $W^\\top$ is not $W^{-1}$ anyway "
        "($W$ is 100×784 here and has no inverse)."
    )
    note = tied_untied_note()
    if note:
        st.info(note)
    st.page_link("pages/features.py", label="Compare tied and untied units", icon="🔬",
                 query_params=_if_available({"left": "mnist_tied100", "right": "mnist_untied100"}))

    st.subheader("2 · Why decode with f, not its inverse f⁻¹?")
    st.markdown("It is tempting to undo the encoder's sigmoid with its inverse, the logit (arctanh for tanh):")
    st.latex(r"\operatorname{logit}(y) = \log\frac{y}{1-y},\ y\in(0,1) \qquad "
             r"\operatorname{artanh}(y) = \tfrac12\log\frac{1+y}{1-y},\ y\in(-1,1)")
    st.markdown(
        "- **f⁻¹ is undefined outside f's range.** $W'h + b'$ can be any real number, but the logit only "
        "accepts (0, 1).\n"
        "- **f⁻¹ is unbounded at its ends.** Near 0 or 1 it shoots to ±∞, so outputs and gradients explode.\n"
        "- **The decoder is not the encoder's inverse.** It is a second learned map from code to image; "
        "nothing needs undoing.\n"
        "- **The output activation is chosen to fit the loss.** A sigmoid gives values in (0, 1), exactly what "
        "binary cross-entropy on [0, 1] pixels needs; real values with MSE take an identity output."
    )
    st.page_link("pages/features.py", label="See where f⁻¹ is undefined", icon="🔬",
                 query_params=_if_available({"left": "mnist_tied100", "right": "mnist_untied100"}))

    st.header("Penalties and the VAE")
    sparse, contractive = st.columns(2)
    with sparse:
        st.markdown("**Sparse**: an L1 penalty on the code, or a KL penalty pulling each unit's mean "
                    "activation $\\hat\\rho_j$ over the batch towards a small target $\\rho$:")
        st.latex(r"\Omega_{L1} = \lambda \sum_j \lvert h_j \rvert")
        # Two lines: on one, the formula overflows a half-width column and is clipped.
        st.latex(r"\begin{aligned}\Omega_{KL} &= \lambda \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j) \\"
                 r"&= \lambda \sum_j \Big[\rho \log \frac{\rho}{\hat\rho_j}"
                 r" + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}\Big]\end{aligned}")
    with contractive:
        st.markdown("**Contractive**: the squared Frobenius norm of the encoder's Jacobian; for a sigmoid layer "
                    "it has a closed form ($W_j$ is row $j$ of $W$):")
        st.latex(r"\lVert J_f(x) \rVert_F^2 = \sum_{i,j} \Big(\frac{\partial h_j}{\partial x_i}\Big)^2")
        st.latex(r"= \sum_j \big(h_j(1-h_j)\big)^2 \,\lVert W_j \rVert^2")
    st.markdown("**Variational**: the encoder gives a mean $\\mu$ and variance $\\sigma^2$ per code dimension; "
                "training maximises the evidence lower bound (the app minimises its negative, BCE + KL):")
    st.latex(r"\log p(x) \ \ge\ \mathbb{E}_{q(z\mid x)}\big[\log p(x\mid z)\big]"
             r" - \mathrm{KL}\big(q(z\mid x)\,\Vert\,\mathcal N(0, I)\big)")
    kl, reparam = st.columns(2)
    with kl:
        st.markdown("The KL term in closed form:")
        st.latex(r"\mathrm{KL} = -\tfrac12 \sum_j \big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big)")
    with reparam:
        st.markdown("The reparameterisation trick, so gradients flow through the sample:")
        st.latex(r"z = \mu + \sigma \odot \varepsilon,\qquad \varepsilon \sim \mathcal N(0, I)")

    st.header("Which kind to use?")
    available = set(catalog())
    for row in range(0, len(KINDS), 2):
        for column, kind in zip(st.columns(2), KINDS[row:row + 2]):
            with column:
                kind_card(kind, available)


def tied_untied_note() -> str | None:
    """What the two shipped single-layer models actually show, from their training records."""
    entries = catalog()
    if not {"mnist_tied100", "mnist_untied100"} <= set(entries):
        return None
    tied, untied = entries["mnist_tied100"].record, entries["mnist_untied100"].record
    losses = tied.get("final_heldout_loss"), untied.get("final_heldout_loss")
    train_losses = tied.get("final_train_loss"), untied.get("final_train_loss")
    if None in losses or None in train_losses:
        return None
    same = f" after the same {tied['epochs']} epochs" if tied.get("epochs") == untied.get("epochs") else ""
    if losses[0] < losses[1]:
        # Judged from the records: if the untied model is also worse on its own training digits it is
        # under-trained (it learns more slowly), not overfitting.
        why = ("it is worse on its training digits too, so it has not caught up yet: with twice the weights "
               "and no shared gradient it learns more slowly at this learning rate"
               if train_losses[1] > train_losses[0] else
               "it fits its training digits better but generalises worse: the extra freedom overfits")
        verdict = f"the **tied** one reconstructs held-out digits better; as for the untied one, {why}"
    else:
        verdict = "the **untied** one reconstructs held-out digits better, as its extra freedom allows"
    return (f"In this app{same}, {verdict}. BCE per image, train / held-out: tied {train_losses[0]:.1f} / "
            f"{losses[0]:.1f}, untied {train_losses[1]:.1f} / {losses[1]:.1f}.")


def _if_available(params: dict) -> dict | None:
    return params if set(params.values()) <= set(catalog()) else None


main()
