"""The class palette and the colour science behind its rule: CIEDE2000 against Sharma et al.'s published pairs, the
simulated dichromacies and CIELAB against published and reference values, and the rule itself for all 45 pairs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from models.analysis.palette import (CLASS_COLOURS, CVD_MATRICES, MIN_DIFFERENCE, NEUTRAL_COLOUR, VISIONS, ciede2000,
                                     class_colours, closest_pairs, difference, hex_to_rgb, lab, rgb_to_hex, simulate)
from models.autoencoders import build_model
from models.config import ModelConfig
from models.decoder_program import decoder_program
from ui.latent_plane.payload import pack, unpack
from ui.latent_plane.views import codes_plane

# Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes, supplementary test
# data, and mathematical observations", Table 1: L1 a1 b1, L2 a2 b2, ΔE00 (all 34 pairs).
SHARMA = np.array([
    [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
    [50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615],
    [50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412],
    [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
    [50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
    [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
    [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
    [50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977],
    [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
    [50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000],
    [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
    [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
    [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
    [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
    [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
    [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
    [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
    [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
    [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
    [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
])
# matplotlib's tab10, which the plane used before: it breaks the rule for both dichromacies.
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf")


def test_ciede2000_matches_every_published_pair_to_four_decimals():
    computed = ciede2000(SHARMA[:, :3], SHARMA[:, 3:6])
    assert np.array_equal(computed.round(4), SHARMA[:, 6]), np.c_[computed.round(4), SHARMA[:, 6]]
    # The difference is symmetric (Sharma's rows 7 and 8 are one pair both ways), and zero for a colour and itself.
    assert np.allclose(ciede2000(SHARMA[:, 3:6], SHARMA[:, :3]), computed)
    assert np.allclose(ciede2000(SHARMA[:, :3], SHARMA[:, :3]), 0.0)


@pytest.mark.parametrize(("colour", "expected"), [
    # CIELAB (D65, 2°) of the sRGB primaries and white, as Lindbloom's calculator and colour-science give them.
    ("#FF0000", (53.2408, 80.0925, 67.2032)),
    ("#00FF00", (87.7347, -86.1827, 83.1793)),
    ("#0000FF", (32.2970, 79.1875, -107.8602)),
    ("#FFFFFF", (100.0, 0.0, 0.0)),
])
def test_lab_of_the_srgb_primaries(colour, expected):
    assert np.allclose(lab(colour), expected, atol=1e-3), lab(colour)


@pytest.mark.parametrize(("colour", "vision", "expected"), [
    # A primary's simulation is a column of Machado et al.'s severity-1.0 matrix (their Table, the values
    # colorspacious and colour-science ship), in linear RGB.
    ("#FF0000", "protanopia", (0.152286, 0.114503, -0.003882)),
    ("#00FF00", "deuteranopia", (0.860646, 0.672501, 0.042940)),
    ("#0000FF", "protanopia", (-0.204868, 0.099216, 1.051998)),
    # Mixed colours, from colorspacious 1.1.2: cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": ...,
    # "severity": 100}, "sRGB1-linear").
    ("#CC6677", "deuteranopia", (0.294097, 0.267224, 0.177302)),
    ("#CC6677", "protanopia", (0.194016, 0.191915, 0.185330)),
    ("#117733", "deuteranopia", (0.153280, 0.127199, 0.039930)),
    ("#88CCEE", "protanopia", (0.497911, 0.587798, 0.869441)),
])
def test_simulated_dichromacy_matches_reference_values(colour, vision, expected):
    assert np.allclose(simulate(hex_to_rgb(colour), vision), expected, atol=2e-6)


def test_a_dichromat_sees_red_and_green_alike_and_grey_unchanged():
    # Pure red and a green of the same lightness, as a deuteranope sees them: far less apart than for normal vision.
    assert difference("#FF0000", "#00FF00", "deuteranopia") < 0.5 * difference("#FF0000", "#00FF00")
    # Each matrix keeps white white (rows sum to 1), so greys look the same to everyone.
    for vision in VISIONS:
        assert np.allclose(CVD_MATRICES[vision].sum(axis=1), 1.0, atol=1e-5)
        assert difference("#777777", "#777777", vision) == 0.0
        assert np.allclose(lab("#777777", vision), lab("#777777"), atol=1e-3)


def test_tab10_breaks_the_rule_as_measured_in_the_issue():
    # Issue 19: under deuteranopia tab10's classes 1 (orange) and 8 (olive) are 3.3 apart.
    assert difference(TAB10[1], TAB10[8], "deuteranopia") == pytest.approx(3.33, abs=0.01)
    found = {vision: (i, j, round(d, 2)) for vision, i, j, d in closest_pairs(TAB10)}
    assert found["deuteranopia"] == (1, 8, 3.33)
    assert found["protanopia"] == (0, 4, 1.9)  # blue and purple: the closest pair (orange and green are 2.54 apart)
    assert found["normal"][2] >= MIN_DIFFERENCE


@pytest.mark.parametrize("vision", VISIONS)
def test_every_pair_of_class_colours_stays_apart(vision):
    assert len(CLASS_COLOURS) == 10 and len(set(CLASS_COLOURS)) == 10
    pairs = list(itertools.combinations(CLASS_COLOURS, 2))
    assert len(pairs) == 45
    close = [(a, b, round(difference(a, b, vision), 2)) for a, b in pairs if difference(a, b, vision) < MIN_DIFFERENCE]
    assert close == [], f"{vision}: pairs under {MIN_DIFFERENCE} CIEDE2000: {close}"


@pytest.mark.parametrize("background", ["#FFFFFF", "#0E1117"])  # a light and a dark plane
def test_every_class_colour_and_the_neutral_one_show_on_light_and_dark(background):
    for colour in (*CLASS_COLOURS, NEUTRAL_COLOUR):
        for vision in VISIONS:
            assert difference(colour, background, vision) >= 15, (colour, background, vision)


def test_class_colours_for_up_to_ten_classes_and_none_past_that():
    assert class_colours(10) == list(CLASS_COLOURS)
    assert class_colours(3) == list(CLASS_COLOURS[:3])
    assert class_colours(40) is None and class_colours(0) is None


def test_hex_round_trip_and_bad_input():
    assert rgb_to_hex(hex_to_rgb("#5599dd")) == "#5599DD"
    with pytest.raises(ValueError, match="not a #RRGGBB colour: '#12345'"):
        hex_to_rgb("#12345")
    with pytest.raises(ValueError, match="unknown vision 'tritanopia'"):
        simulate(hex_to_rgb("#123456"), "tritanopia")


def _payload(labels, names):
    model = build_model(ModelConfig(kind="ae", hidden=(4,), input_shape=(1, 4, 4))).eval()
    codes = torch.arange(6.0).reshape(3, 2) if labels is None else torch.arange(2.0 * len(labels)).reshape(-1, 2)
    data = pack("p", "t", decoder_program(model), codes_plane(codes),
                codes.numpy(), codes.numpy(), None if labels is None else np.array(labels), names, None)
    return unpack(data)[0]


def test_the_payload_carries_the_palette_for_ten_classes_and_one_neutral_colour_for_forty():
    assert _payload([0, 9, 3], [str(d) for d in range(10)])["class_colours"] == list(CLASS_COLOURS)
    faces = _payload(list(range(40)), [f"person {p}" for p in range(40)])
    assert faces["class_colours"] == [] and faces["neutral_colour"] == NEUTRAL_COLOUR
    assert _payload(None, None)["class_colours"] == []
    assert _payload([0, 2, 1], None)["class_colours"] == list(CLASS_COLOURS[:3])  # classes without names
