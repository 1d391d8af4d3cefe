"""The class colours every page uses, and the colour science that checks them (plain NumPy).

A student with deuteranopia or protanopia (about 1 in 12 men) must tell the classes apart as easily as anyone, so
the rule is: every pair of the ten class colours stays at least MIN_DIFFERENCE CIEDE2000 apart for normal vision
and for both simulated dichromacies. The chain: sRGB → linear RGB → simulated colour vision (Machado, Oliveira and
Fernandes 2009, severity 1.0, applied in linear RGB) → CIE XYZ → CIELAB (D65) → CIEDE2000 (Sharma, Wu and Dalal
2005). tests/unit/test_palette.py checks each step against published values.
"""

from __future__ import annotations

import itertools

import numpy as np

MIN_DIFFERENCE = 10.0  # CIEDE2000: about where two small marks read as different at a glance
VISIONS = ("normal", "deuteranopia", "protanopia")

# Paul Tol's muted set (his nine colours, in his order) and a tenth for the tenth class: his pale grey, meant for
# "bad data", vanishes on a white plane, so the tenth is a mid blue, found by searching sRGB for the colour furthest
# from the nine under all three visions (14.1) that stays clear of a light and a dark plane background.
CLASS_COLOURS = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255", "#44AA99", "#999933",
                 "#AA4499", "#5599DD")
NEUTRAL_COLOUR = "#7A8290"  # one colour for every code when classes are too many to colour apart (faces)
MAX_CLASS_COLOURS = len(CLASS_COLOURS)

# Machado et al. (2009), table of severity 1.0: linear RGB → the linear RGB a dichromat sees.
CVD_MATRICES = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
# IEC 61966-2-1 (sRGB): linear RGB → XYZ, and the D65 white the Lab conversion divides by.
RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
D65 = RGB_TO_XYZ.sum(axis=1)  # the XYZ of linear white (1, 1, 1): (0.95047, 1.0, 1.08883)


def hex_to_rgb(colour: str) -> np.ndarray:
    """'#RRGGBB' (or 'RRGGBB') → sRGB in [0, 1]."""
    text = colour.strip().lstrip("#")
    if len(text) != 6:
        raise ValueError(f"not a #RRGGBB colour: {colour!r}")
    return np.array([int(text[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0


def rgb_to_hex(rgb) -> str:
    values = np.clip(np.round(np.asarray(rgb, dtype=np.float64) * 255.0), 0, 255).astype(int)
    return "#" + "".join(f"{v:02X}" for v in values)


def srgb_to_linear(rgb) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float64)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear) -> np.ndarray:
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)  # a simulated colour may leave the gamut
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate(rgb, vision: str) -> np.ndarray:
    """sRGB in [0, 1] (..., 3) → the linear RGB that `vision` sees (not clipped: Lab takes it as it is)."""
    if vision not in CVD_MATRICES:
        raise ValueError(f"unknown vision {vision!r}; one of {', '.join(VISIONS)}")
    return srgb_to_linear(rgb) @ CVD_MATRICES[vision].T


def linear_to_lab(linear) -> np.ndarray:
    """Linear RGB (..., 3) → CIELAB under D65."""
    xyz = np.asarray(linear, dtype=np.float64) @ RGB_TO_XYZ.T / D65
    delta = 6 / 29
    f = np.where(xyz > delta ** 3, np.cbrt(xyz), xyz / (3 * delta ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab(colour: str, vision: str = "normal") -> np.ndarray:
    """The CIELAB coordinates of a '#RRGGBB' colour as `vision` sees it."""
    return linear_to_lab(simulate(hex_to_rgb(colour), vision))


def ciede2000(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1), in Sharma et al.'s formulation; broadcasts over (..., 3)."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    chroma_zero = (c1p * c2p) == 0  # a grey has no hue: its hue terms drop out (Sharma's eqs. 10, 14)
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(chroma_zero, 0.0, dh)
    dL, dC = L2 - L1, c2p - c1p
    dH = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    L_mean, cp_mean = (L1 + L2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2))
    h_mean = np.where(chroma_zero, h_sum, h_mean)
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    s_l = 1 + 0.015 * (L_mean - 50) ** 2 / np.sqrt(20 + (L_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_c = 2 * np.sqrt(cp_mean ** 7 / (cp_mean ** 7 + 25.0 ** 7))
    r_t = -np.sin(np.radians(2 * 30 * np.exp(-(((h_mean - 275) / 25) ** 2)))) * r_c
    return np.sqrt((dL / s_l) ** 2 + (dC / s_c) ** 2 + (dH / s_h) ** 2 + r_t * (dC / s_c) * (dH / s_h))


def difference(colour1: str, colour2: str, vision: str = "normal") -> float:
    """CIEDE2000 between two '#RRGGBB' colours as `vision` sees them."""
    return float(ciede2000(lab(colour1, vision), lab(colour2, vision)))


def closest_pairs(colours, visions=VISIONS) -> list[tuple[str, int, int, float]]:
    """For each vision, the pair of colours (indices) that look most alike, and their CIEDE2000."""
    found = []
    for vision in visions:
        pairs = [(difference(colours[i], colours[j], vision), i, j)
                 for i, j in itertools.combinations(range(len(colours)), 2)]
        d, i, j = min(pairs)
        found.append((vision, i, j, d))
    return found


def class_colours(count: int) -> list[str] | None:
    """One colour per class for up to ten classes; None for more (colours would repeat and mean nothing)."""
    return list(CLASS_COLOURS[:count]) if 0 < count <= MAX_CLASS_COLOURS else None
