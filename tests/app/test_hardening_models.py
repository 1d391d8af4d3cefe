"""Hostile but well-formed models (issue 9, parts 4 and 5): huge but finite weights, codes too large for a slider,
and checkpoints that are valid but expensive to score; each is refused or bounded with a message and the app goes
on."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from models.autoencoders import build_model
from models.catalog import load_catalog
from models.checkpoint import load_checkpoint
from models.config import ModelConfig
from models.data import load_dataset
from models.errors import CheckpointError
from models.training.checks import behaviour_problem, score_heldout, work_per_image
from models.training.trainer import evaluate
from tests.app.apptest import app_test
from tests.app.test_hardening import accept, checkpoint_files, refused_then_served, small_model, texts
from ui.latent.plots import SLIDER_LIMIT, slider_range
from ui.session_models import TRAINED_KEY, ModelChoice


# --- 4. huge but finite weights ---------------------------------------------------------------------------------
def one_layer_at(value: float):
    model = small_model()
    with torch.no_grad():
        model.encoder[1].weight.fill_(value)
    return model


@pytest.mark.parametrize("model", [small_model(1e18), one_layer_at(1e30), one_layer_at(3e38)],
                         ids=["all-1e18", "layer-1e30", "layer-3e38"])
def test_huge_weights_are_refused_with_the_tensor_named(model, mnist):
    with pytest.raises(CheckpointError, match=r"tensor encoder\.1\.weight holds values up to .*beyond ±1e\+06"):
        accept(checkpoint_files(model), mnist)


def test_weights_within_bounds_whose_codes_blow_up_are_refused(mnist):
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(256, 256, 256))).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(1e4)  # under the weight bound; three layers multiply it up to ~1e20
    problem = behaviour_problem(model, mnist.test)
    assert problem.startswith("its codes of held-out images are as large as")
    with pytest.raises(CheckpointError, match="its codes of held-out images are .*no page could show it"):
        accept(checkpoint_files(model), mnist)


def test_a_decoder_that_overflows_near_the_codes_is_refused(mnist):
    model = small_model()
    with torch.no_grad():
        model.decoder[-2].weight.fill_(1e5)  # the last decoder layer: codes stay sane, outputs reach ~1e7
        model.from_code.weight.fill_(1e3)
    assert behaviour_problem(model, mnist.test).startswith("its decoder's outputs")


def test_every_shipped_model_is_fit_to_show():
    for entry in load_catalog():
        model, _ = load_checkpoint(entry.path)
        data = load_dataset("olivetti", source="auto", image_size=(64, 64)) if entry.dataset == "olivetti" \
            else load_dataset(entry.dataset, source=entry.data_source)
        assert behaviour_problem(model, data.test) is None, entry.name


def test_huge_weights_in_the_app_say_why_and_the_app_goes_on():
    refused_then_served(checkpoint_files(small_model(1e18)), "holds values up to")


def test_codes_too_large_for_a_slider_are_refused_in_the_app(mnist):
    model = build_model(ModelConfig(hidden=(256, 256, 256))).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(1e4)
    refused_then_served(checkpoint_files(model), "its codes of held-out images are as large as")


@pytest.mark.parametrize("axis, values", [([-9.65e34, 1e35], [1e30, -3e38]), ([float("nan")] * 2, [float("inf")]),
                                          ([2.0, 2.0], [2.0]), ([-1.64, 1.64], [float("nan"), 0.3])])
def test_slider_bounds_are_always_finite_and_within_the_limit(axis, values):
    bounds = slider_range(torch.tensor(axis), torch.tensor(values))
    numbers = [bounds.low, bounds.high, bounds.step, bounds.default]
    assert all(isinstance(v, float) and np.isfinite(v) for v in numbers)
    assert -SLIDER_LIMIT <= bounds.low < bounds.high <= SLIDER_LIMIT
    assert bounds.low <= bounds.default <= bounds.high and bounds.step > 0


@pytest.mark.parametrize("page", ["pages/reconstructions.py", "pages/denoising.py", "pages/features.py",
                                  "pages/latent.py"])
def test_a_session_model_with_extreme_codes_gets_a_message_on_every_page(page, mnist):
    """Such a model cannot be uploaded or kept from training; if one were in the session anyway, every page
    that shows a model says why it cannot, instead of failing in its own way."""
    model = small_model(1e15, hidden=())  # codes ~1e20; single-layer, so Features offers it too
    assert behaviour_problem(model, mnist.test) is not None
    at = app_test()
    at.session_state[TRAINED_KEY] = {"huge": ModelChoice("huge", "huge codes", "mnist", model, {}, mnist)}
    for key in ("model", "left", "right", "dae", "plain"):
        at.query_params[key] = "huge"
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "**huge codes** cannot be shown: its codes of held-out images are" in texts(at.error)


# --- 5. a valid but expensive checkpoint --------------------------------------------------------------------
def expensive_model():
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=(1024,), latent=1024, contractive_weight=1.0)).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def test_a_cheap_model_is_scored_on_every_held_out_image_exactly_as_training_does(mnist):
    model = small_model(kind="vae")
    score = score_heldout(model, mnist.test)
    assert score.images == score.total == len(mnist.test) and score.reason is None
    assert score.terms == evaluate(model, mnist.test)


def test_an_expensive_model_is_scored_on_a_sample_sized_by_its_work(mnist):
    model = expensive_model()
    assert work_per_image(model) == 1024 * sum(p.numel() for p in model.parameters())
    score = score_heldout(model, mnist.test, max_seconds=float("inf"))  # the sample size, whatever the load
    assert score.images == int(6e10 // work_per_image(model)) < score.total
    assert "1,024 backward passes per image" in score.reason and np.isfinite(score.loss)


def test_scoring_stops_at_the_time_cap_between_chunks(mnist):
    model = build_model(ModelConfig(hidden=(16,), latent=16, contractive_weight=1.0)).eval()
    ticks = iter(range(0, 1000, 10))  # every look at the clock: 10 more seconds
    score = score_heldout(model, mnist.test, max_work=40 * work_per_image(model), max_seconds=5,
                          clock=lambda: next(ticks))
    assert score.images == 20 and score.reason == "scoring stopped at the 5-second cap"


def test_an_expensive_upload_is_accepted_with_its_sample_said(mnist):
    _, _, record = accept(checkpoint_files(expensive_model()), mnist)
    assert 0 < record["heldout_images_scored"] <= 15 and np.isfinite(record["final_heldout_loss"])
    # a sample, cut shorter by the time cap when the machine is busy
    assert re.fullmatch(r".*so a sample was scored|scoring stopped at the 5-second cap", record["heldout_scoring_note"])


@pytest.mark.slow
def test_upload_scoring_benchmark_quick_mode_runs():
    from benchmarks.upload_scoring import main

    result = main(["--quick", "--threads", "1"])
    assert result["problem"] is None and result["images_scored"] == 20 and result["images"] == 200
    assert result["relative_difference"] < 0.05 and result["bounded_seconds"] > 0
