"""The Latent page's Holes tab: a plain AE and a VAE side by side, each with its decoded grid (holes in red) and
its latent plane, which decodes under the pointer in the browser so a student can point into a hole."""

from __future__ import annotations

import streamlit as st
import torch

from models.analysis.holes_findings import Side, holes_explanation
from models.analysis.latent import HOLE_RADIUS, REGIONS, holes, region_axes
from ui.latent.explore import draw_plane, free_pin, show
from ui.latent.plots import tile_marked
from ui.latent_plane.views import codes_plane
from ui.messages import escape_md
from ui.projector import scaled
from ui.query import query_choice, set_query, state_from_query
from ui.session_models import ModelChoice, held_out_codes, model_names, title_of
from ui.sidebar import pick_model

HOLES_GRID = 15
GRID_PX = 400
SIDES = (("Plain autoencoder", "holes_ae", "mnist_ae2", False), ("VAE", "holes_vae", "mnist_vae2", True))


def _default(names: list[str], preferred: str, prior: bool, dataset: str) -> str:
    if preferred in names:
        return preferred
    kind = "vae" if prior else "ae"
    matching = model_names(dataset, where=lambda c: c.latent == 2 and c.kind == kind)
    return next((n for n in matching if n in names), names[0])


def holes_tab(choice: ModelChoice, grid_cells) -> None:
    """grid_cells(choice, xs, ys) -> uint8 (rows, cols, H, W), the page's cached grid decoder."""
    names = model_names(choice.dataset, where=lambda c: c.latent == 2)
    if len(names) < 2:
        st.info(f"This comparison needs two models with a 2-D latent on {choice.dataset}; there "
                f"{'is only ' + escape_md(title_of(names[0])) if names else 'is none'}. Train one on the Train page.")
        return
    st.markdown("A plain autoencoder is trained only to decode the codes of its training images: nothing shapes "
                "the space between them or says where codes should lie. A VAE's KL term packs its codes towards "
                "N(0, I). Below, both decode a grid over the chosen region; cells whose grid point has **no "
                f"held-out code within {HOLE_RADIUS:g}** (a twelfth of the region's side) are drawn on red: "
                "there the decoder is extrapolating. Point at either plane to decode any z, holes included.")
    state_from_query("region", query_choice("region", list(REGIONS), "spread"))
    region = st.radio("Region", list(REGIONS), key="region", format_func=REGIONS.get, horizontal=True)
    set_query(region=region)
    compared = st.empty()  # filled once both sides are picked: what the two regions show, from their numbers
    count, sides = 0, []
    for column, (label, key, preferred, prior) in zip(st.columns(2, gap="large"), SIDES):
        with column:
            avoid = sides[0].name if sides else None  # never the same model on both sides by default
            default = _default(names, preferred, prior, choice.dataset)
            other = pick_model(label, names, default, key=key, avoid=avoid)
            count = _side(other, region, key, grid_cells)
            sides.append(other)
    st.caption(f"In region: the share of the {count} held-out images whose code falls inside "
               f"the dashed rectangle. Grid on red: the share of the {HOLES_GRID}×{HOLES_GRID} grid points "
               f"with no held-out code within {HOLE_RADIUS:g} {'std' if region == 'spread' else 'units'}. "
               f"Distance: the mean from each grid point to its nearest held-out code, in the same units.")
    if sides[0].name != sides[1].name:
        labels = (["the plain AE", "the VAE"] if [s.model.has_prior for s in sides] == [False, True]
                  else [f"**{escape_md(s.title)}**" for s in sides])
        explained = holes_explanation(*(_both_regions(s, label) for s, label in zip(sides, labels)))
        compared.info("**The two regions, compared.** " + " ".join(explained), icon=":material/balance:")


def _side(other: ModelChoice, region: str, key: str, grid_cells) -> int:
    codes = held_out_codes(other)
    xs, ys, unit = region_axes(codes, region, HOLES_GRID)
    stats = holes(codes, xs, ys, unit)
    cells = grid_cells(other, tuple(xs.tolist()), tuple(ys.tolist()))
    units = "std of its codes" if region == "spread" else "latent units"
    show(tile_marked(cells, stats.mask), f"{escape_md(other.title)}: {HOLES_GRID}×{HOLES_GRID} decodes over "
         f"z1 {xs[0]:.2f}…{xs[-1]:.2f}, z2 {ys[0]:.2f}…{ys[-1]:.2f}; red = no held-out code within "
         f"{HOLE_RADIUS:g} {units}", target=scaled(GRID_PX))
    inside, empty, distance = st.columns(3)
    inside.metric("In region", f"{stats.codes_inside:.0%}", help="Held-out codes inside the dashed rectangle")
    empty.metric("Grid on red", f"{stats.hole_fraction:.0%}", help="Grid points with no held-out code nearby")
    distance.metric("Distance", f"{stats.mean_distance:.2f}",
                    help="Mean distance from a grid point to its nearest held-out code")
    regions = [_rect(*region_axes(codes, name, 2)[:2]) for name in REGIONS]
    plane_id = draw_plane(other, f"holes_{key}", codes_plane(codes, regions), codes, codes)
    free_pin(other, codes, key, plane_id, [{"rect": list(_rect(xs, ys)), "color": "#d62728"}],
             "Click the plane to pin a z: its decode and the nearest held-out image appear here.")
    return len(codes)


def _both_regions(choice: ModelChoice, label: str) -> Side:
    """The holes of one model in every region, for the explanation under the comparison."""
    codes = held_out_codes(choice)
    stats = {}
    for name in REGIONS:
        xs, ys, unit = region_axes(codes, name, HOLES_GRID)
        stats[name] = holes(codes, xs, ys, unit)
    return Side(label, stats, float(codes[:, :2].std(0).mean()))


def _rect(xs: torch.Tensor, ys: torch.Tensor) -> tuple[float, float, float, float]:
    return float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])
