"""The interpolation's ends: held-out images, class means and points on the plane, read from and written to the
URL, their codes, and where a path falls on the plane."""

from __future__ import annotations

import pytest
import torch

from models.analysis.latent import class_mean_code, principal_directions
from models.autoencoders import interpolate_codes
from ui.latent.ends import End, end_code, end_name, end_text, file_part, on_plane, parse_end, rounded_point
from ui.latent.plots import SliderRange
from ui.latent_plane.views import latent_plane, pca_plane

PLANE_2D = latent_plane((SliderRange(-3.0, 3.0, 0.02, 0.0), SliderRange(-3.0, 3.0, 0.02, 0.0)), (-1, 1, -1, 1))


@pytest.mark.parametrize(("text", "end"), [
    ("7", End("image", 7)), ("7.4", End("image", 7)), ("100000", End("image", 499)), ("-3", End("image", 0)),
    ("class:3", End("class", 3)), (" class:0 ", End("class", 0)), ("1.2,-0.4", End("point", point=(1.2, -0.4))),
    ("nan", None), ("class:11", None), ("class:2.5", None), ("class:x", None), ("1,2,3", None), ("1,inf", None),
    ("", None), (None, None), ("seven", None),
])
def test_an_end_reads_from_the_url_and_old_index_links_keep_working(text, end):
    assert parse_end(text, 500, present=range(10)) == end


@pytest.mark.parametrize("end", [End("image", 42), End("class", 9), End("point", point=(1.25, -0.375)),
                                 End("point", point=(-12.34, 0.001234))])
def test_an_end_written_to_the_url_reads_back(end):
    assert parse_end(end_text(end), 500, present=range(10)) == end


def test_a_clicked_point_is_rounded_as_the_url_keeps_it():
    x, y = rounded_point(1.234567, -0.000123456)
    assert (x, y) == (1.235, -0.0001235)
    assert parse_end(end_text(End("point", point=(x, y))), 500).point == (x, y)


def test_end_codes_are_the_image_the_class_mean_and_the_point():
    generator = torch.Generator().manual_seed(0)
    codes = torch.randn(30, 2, generator=generator)
    labels = torch.arange(30) % 3
    assert torch.equal(end_code(End("image", 4), codes, labels, PLANE_2D), codes[4])
    assert torch.allclose(end_code(End("class", 2), codes, labels, PLANE_2D), codes[2::3].mean(0))
    assert end_code(End("point", point=(0.5, -1.5)), codes, labels, PLANE_2D).tolist() == [0.5, -1.5]
    assert class_mean_code(codes, labels, 7) is None  # a class with no held-out image
    assert torch.equal(end_code(End("point", point=(0.5, -1.5)), codes, labels, None), codes[0])  # no plane


def test_a_point_on_a_principal_plane_is_the_mean_plus_its_two_directions_and_projects_back():
    generator = torch.Generator().manual_seed(1)
    codes = torch.randn(200, 6, generator=generator) * torch.tensor([3.0, 2.0, 1.0, 0.5, 0.2, 0.1])
    pca = principal_directions(codes, 4)
    plane = pca_plane(pca, 3.0)
    z = end_code(End("point", point=(1.5, -0.5)), codes, None, plane)
    assert torch.allclose(z, pca.mean + 1.5 * pca.directions[0] - 0.5 * pca.directions[1], atol=1e-6)
    assert on_plane(z[None], plane)[0] == pytest.approx([1.5, -0.5], abs=1e-5)
    projected = torch.tensor(on_plane(codes[:5], plane), dtype=torch.float64)
    assert torch.allclose(projected, pca.project(codes[:5])[:, :2].double(), atol=1e-5)


def test_the_path_drawn_on_a_2d_plane_is_the_path_decoded():
    za, zb = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    for method in ("linear", "slerp"):
        path = interpolate_codes(za, zb, 5, method)
        assert torch.allclose(torch.tensor(on_plane(path, PLANE_2D), dtype=torch.float64), path.double(), atol=1e-7)


def test_ends_are_named_in_captions_and_file_names():
    assert end_name(End("image", 3)) == "held-out #3"
    assert end_name(End("class", 4), "4") == "mean code of class 4"
    assert end_name(End("point", point=(1.0, -0.25))) == "point (1.00, -0.25) on the plane"
    assert [file_part(e) for e in (End("image", 3), End("class", 4), End("point", point=(1.0, -0.25)))] == \
        ["3", "class4", "pt1_-0.25"]
