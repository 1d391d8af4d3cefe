"""About / lesson: the notation, the losses, the two questions answered, and which autoencoder to use when."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from models.analysis.feature_findings import EDGE, decoding_headline, gap_findings
from models.analysis.tied_findings import pair_lead
from models.analysis.tied_untied import learning_curve, parameter_count
from ui import lesson
from ui.features.plots import VIEWS as FEATURE_VIEWS
from ui.features.questions import gap_table, held_out_decodings
from ui.features.tied import loss_name, pair_loss
from ui.legacy_pages import ensure_routed
from ui.session_models import catalog, get_choice

HOME_PICTURE = Path(__file__).resolve().parent.parent / "ui" / "assets" / "home.png"  # scripts/home_picture.py


@dataclass(frozen=True)
class Kind:
    title: str
    icon: str
    text: str
    page: str
    link: str
    models: dict = field(default_factory=dict)  # query parameters naming the catalog model(s) to open with
    view: dict = field(default_factory=dict)  # and the view they open on (e.g. the Features page's tab)


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
         {"model": "mnist_sparse100", "left": "mnist_sparse100", "right": "mnist_untied100"},
         {"tab": FEATURE_VIEWS["decoder"]}),
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
         "pages/features.py", "Compare sparse features", {"model": "mnist_sparse100", "left": "mnist_sparse100", "right": "mnist_untied100"},
         {"tab": FEATURE_VIEWS["decoder"]}),
    Kind("Contractive", "🪢",
         "A penalty on the encoder's Jacobian, $\\lVert J_f(x) \\rVert_F^2$, makes the code insensitive to small "
         "input changes. "
         "Only the directions the data really varies along survive the reconstruction loss.",
         "pages/features.py", "Compare contractive features",
         {"model": "mnist_contractive100", "left": "mnist_contractive100", "right": "mnist_untied100"},
         {"tab": FEATURE_VIEWS["decoder"]}),
    Kind("Convolutional", "🧩",
         "Convolutions share each small filter across the image, so there are far fewer weights and a stroke "
         "is recognised wherever it appears. The usual choice for images.",
         "pages/reconstructions.py", "See conv reconstructions", {"model": "mnist_cae16"}),
    Kind("Variational", "🎲",
         "The encoder outputs a Gaussian q(z|x) and a KL term pulls it towards N(0, I), so the code space has "
         "few holes. You can sample new images and walk smoothly between them.",
         "pages/latent.py", "Walk a VAE's latent space", {"model": "mnist_vae2"}),
]


TIED_PAIR = {"model": "mnist_tied100", "left": "mnist_tied100", "right": "mnist_untied100"}


def kind_card(kind: Kind, available: set[str]) -> None:
    with st.container(border=True):
        st.markdown(f"#### {kind.icon} {kind.title}")
        st.markdown(kind.text)
        # Open the page on the model that shows this kind, when that model has been shipped.
        params = {**kind.models, **kind.view} if set(kind.models.values()) <= available else None
        st.page_link(kind.page, label=kind.link, icon="👉", query_params=params or None)


def main() -> None:
    ensure_routed()
    st.title("Autoencoders: a lesson plan")
    st.markdown(f"The lesson in **{len(lesson.STEPS)} steps**, from what an autoencoder rebuilds to training your "
                f"own: for each, what to show, the link that opens it, and the one question to ask the class.")
    if HOME_PICTURE.exists():
        st.image(str(HOME_PICTURE), output_format="PNG", caption="Step 1: held-out digits above what an "
                 "autoencoder rebuilds from their codes")
    lesson.lesson_plan()
    st.markdown("An autoencoder learns to reproduce its input through a **code**. Copying is easy; the point is "
                "what the code is forced to keep when copying is made hard, by a narrow code, noise, or a penalty.")

    with st.expander("Notation and losses"):
        left, right = st.columns(2)
        with left:
            st.markdown("**Encoder**: the code of input $x$")
            st.latex(r"h = f(Wx + b)")
            st.markdown("**Decoder**: the reconstruction from the code")
            st.latex(r"\hat x = g(W'h + b')")
        with right:
            st.markdown("**Tied weights**: the decoder reuses the encoder's matrix")
            st.latex(r"W' = W^\top")
            st.markdown("$f$ is the code's activation, $g$ the output's; in the single-layer models both are "
                        "sigmoid (with BCE), or both tanh (with squared error), as in the question.")

        st.subheader("Losses")
        st.markdown("The loss compares $x$ with $\\hat x$, summed over the pixels $k$ of one image.")
        bce, mse = st.columns(2)
        with bce:
            st.markdown("**Binary cross-entropy**, for pixels in [0, 1] with a sigmoid output:")
            # Two lines: on one it is a few pixels wider than a half-width column at 1280 px and loses its bracket.
            st.latex(r"\begin{aligned}L(x,\hat x) = -\sum_k \big[&x_k \log \hat x_k \\"
                     r"&+ (1 - x_k)\log(1 - \hat x_k)\big]\end{aligned}")
        with mse:
            st.markdown("**Squared error**, for real values (often with an identity output):")
            st.latex(r"L(x,\hat x) = \tfrac12\,\lVert x - \hat x\rVert^2 = \tfrac12 \sum_k (x_k - \hat x_k)^2")
        st.markdown("Training minimises the average over the $N$ samples, and every loss this app reports is "
                    "this average, per image:")
        st.latex(r"J = \frac1N \sum_{n=1}^{N} L\big(x^{(n)}, \hat x^{(n)}\big)")

    with st.expander("The two questions: untied W′, and decoding without f⁻¹"):
        pair = shipped_pair()
        st.subheader("1 · Why untied weights W′ instead of W′ = Wᵀ?")
        st.markdown(
            "- **Tied** weights use one matrix both ways, so the decoder has no weights of its own to fit. They also "
            "close a loophole: a penalty on $h$ or on $\\partial h/\\partial x$ could otherwise be dodged by "
            "shrinking $W$ and growing $W'$ to compensate.\n"
            "- **Untied** weights let the decoder learn its own pictures: reading a feature and drawing it are "
            "different jobs.\n"
            "- Deep and convolutional autoencoders are almost always untied; $W^\\top$ is not $W^{-1}$ anyway."
        )
        facts = tied_untied_facts(pair)
        for line in facts[:2]:
            st.markdown(f"- {line}")
        st.markdown("When does tying help? See the gap table's findings below this section.")
        note = tied_untied_note()
        if note:
            st.info(note)
        st.page_link("pages/features.py", label="Compare tied and untied, measured", icon="🔬",
                     query_params=_if_available(TIED_PAIR))

        st.subheader("2 · Why decode with an activation, not undo the encoder with f⁻¹?")
        st.markdown("The tempting alternative undoes the encoder: apply the inverse activation to the code, remove "
                    "the hidden bias, and multiply by the transpose. The inverse of a sigmoid is the logit (of tanh, "
                    "artanh):")
        st.latex(r"x' = W^\top\big(f^{-1}(h) - b\big)")
        st.latex(r"\operatorname{logit}(y) = \log\frac{y}{1-y},\ y\in(0,1) \qquad "
                 r"\operatorname{artanh}(y) = \tfrac12\log\frac{1+y}{1-y},\ y\in(-1,1)")
        for line in inverse_facts(pair):
            st.markdown(f"- {line}")
        st.page_link("pages/features.py", label="See every decoding side by side", icon="🔬",
                     query_params=_if_available(TIED_PAIR))
        st.page_link("pages/features.py", label="See where f⁻¹ is undefined, unit by unit", icon="🔬",
                     query_params=_if_available(TIED_PAIR,
                                                tab=FEATURE_VIEWS["inverse"]))

    with st.expander("When does tying help? The gap table's findings (question 1 in detail)"):
        for line in facts[2:]:
            st.markdown(f"- {line}")

    with st.expander("Penalties and the VAE"):
        sparse, contractive = st.columns(2)
        with sparse:
            st.markdown("**Sparse**: an L1 penalty on the code, or a KL penalty pulling each unit's mean "
                        "activation $\\hat\\rho_j$ over the batch towards a small target $\\rho$:")
            st.latex(r"\Omega_{L1} = \lambda \sum_j \lvert h_j \rvert")
            # Two lines: on one, the formula overflows a half-width column and is clipped.
            st.latex(r"\begin{aligned}\Omega_{KL} &= \lambda \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j) \\"
                     r"&= \lambda \sum_j \Big[\rho \log \frac{\rho}{\hat\rho_j} \\"
                     r"&\qquad + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}\Big]\end{aligned}")
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

    with st.expander("Which kind of autoencoder to use when"):
        available = set(catalog())
        for row in range(0, len(KINDS), 2):
            for column, kind in zip(st.columns(2), KINDS[row:row + 2]):
                with column:
                    kind_card(kind, available)


def shipped_pair() -> dict:
    """The shipped tied and untied single-layer models as ModelChoices ({} when they are not shipped)."""
    if not {"mnist_tied100", "mnist_untied100"} <= set(catalog()):
        return {}
    return {"tied": get_choice("mnist_tied100"), "untied": get_choice("mnist_untied100")}


def tied_untied_facts(pair: dict) -> list[str]:
    """The plain fact first (both held-out losses on the same digits, what the extra parameters buy), the parameter
    counts, then the gap table's first finding and verdict (when tying helps), measured."""
    if not pair:
        return []
    tied, untied = pair["tied"].model, pair["untied"].model
    rows, cols = tied.to_code.weight.shape
    out = [f"**Measured:** {pair_lead(pair_loss((pair['tied'], pair['untied'])), loss_name(pair['tied']))}",
           f"The shipped tied model has {parameter_count(tied):,} parameters, the untied one "
           f"{parameter_count(untied):,} ($W$ is {rows}×{cols} here, so it has no inverse)."]
    table, _ = gap_table()
    if table is not None and table.pairs():
        findings = gap_findings(table)
        out += [findings[0], findings[-1]]
    return out


def inverse_facts(pair: dict) -> list[str]:
    """The well-known answer's points, each with the number the shipped tied model gives on the Features page's
    computation (every figure over the same held-out images)."""
    if not pair:
        return []
    d = held_out_decodings(pair["tied"])
    s, n = d.scores, len(d.x)
    learned, pinv, output = s["learned"], s["pinv"], s["output_inverse"]
    return [
        f"**Measured on the shipped tied model.** {decoding_headline(d)}",
        f"**The \"real inverse\" is the pseudo-inverse $W^+$,** and even it is worse than the learned decoder "
        f"({_fmt(pinv.psnr)} against {_fmt(learned.psnr)} dB): {100 * float(d.outside_share.mean()):.1f}% of an "
        f"average image (over all {n}) lies outside $W$'s {d.rank}-dimensional row space, where no inverse of the "
        f"code can reach.",
        f"**f⁻¹ is infinite at the edges of f's range.** As the model runs, in float32, {d.float32_saturated} of "
        f"{n} codes have a unit at exactly {EDGE[pair['tied'].model.config.code_activation]}; in float64, {d.code_clipped_images} of {n} still have a unit "
        f"within ε = {d.eps:g} of the edge and had to be moved inside it before f⁻¹. The learned decoder needs no "
        f"such repair.",
        f"**f⁻¹ at the output fails differently.** $W'h + b'$ can be any real number: it lies outside f's range at "
        f"{100 * output.clipped_values / d.x.numel():.1f}% of pixels. The decoder is a learned map whose output "
        f"activation fits the loss: a sigmoid for binary cross-entropy on [0, 1] pixels.",
    ]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def tied_untied_note() -> str | None:
    """What the two shipped single-layer models show, from their training records."""
    entries = catalog()
    if not {"mnist_tied100", "mnist_untied100"} <= set(entries):
        return None
    tied, untied = entries["mnist_tied100"].record, entries["mnist_untied100"].record
    losses = tied.get("final_heldout_loss"), untied.get("final_heldout_loss")
    train_losses = tied.get("final_train_loss"), untied.get("final_train_loss")
    if None in losses or None in train_losses:
        return None
    better = "tied" if losses[0] < losses[1] else "untied"
    curves = learning_curve(tied), learning_curve(untied)
    if all(c is not None and c.best_epoch is not None for c in curves):
        how = (f"Both were trained until their held-out loss stopped improving (kept epochs {curves[0].best_epoch} "
               f"and {curves[1].best_epoch})")
    else:
        how = (f"The records do not show that training had converged (no per-epoch history; {tied.get('epochs')} "
               f"and {untied.get('epochs')} epochs)")
    return (f"{how}. The **{better}** one reconstructs held-out digits better. BCE per image, train / held-out: "
            f"tied {train_losses[0]:.1f} / {losses[0]:.1f}, untied {train_losses[1]:.1f} / {losses[1]:.1f}.")


def _if_available(models: dict, **view) -> dict | None:
    """The link's query (models, then the view: e.g. the open tab) when every model it names is shipped."""
    return {**models, **view} if set(models.values()) <= set(catalog()) else None


main()
lesson.footer("about")
