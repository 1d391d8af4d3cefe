"""Switching hidden units off or to their maximum (models/analysis/unit_switch.py), against a forward pass with the
units masked by hand (W′h̃ + b′ through g) and against the model's own reconstruction."""

import numpy as np
import pytest
import torch

from models.analysis.decodings import held_out_recon
from models.analysis.unit_switch import (costs_sentence, parse_units, single_unit_costs, switch_sentence,
                                         switch_units, switched_codes)
from models.autoencoders import build_model
from models.config import ModelConfig
from models.errors import ConfigError
from ui.features.plots import change_rgb


def small_model(**options):
    torch.manual_seed(0)
    config = dict(hidden=(), latent=7, code_activation="sigmoid", input_shape=(1, 6, 5))
    return build_model(ModelConfig(**{**config, **options})).eval()


def images(n: int = 40) -> torch.Tensor:
    return torch.rand(n, 1, 6, 5, generator=torch.Generator().manual_seed(1))


def by_hand(model, x, off=(), driven=()):
    """h = f(Wx + b) with units replaced by hand, then x̂ = g(W′h̃ + b′): the decoder written out."""
    with torch.no_grad():
        h = torch.sigmoid(x.flatten(1) @ model.to_code.weight.t() + model.to_code.bias)
        peaks = h.max(0).values
        for u in off:
            h[:, u] = 0.0
        for u in driven:
            h[:, u] = peaks[u]
        logits = h @ model.from_code.weight.t() + model.from_code.bias
        return model.out_act(logits).reshape(x.shape)


@pytest.mark.parametrize("tied", [False, True])
def test_switched_reconstruction_matches_the_decoder_written_out_by_hand(tied):
    model, x = small_model(tied=tied), images()
    result = switch_units(model, x, off=[1, 4], driven=[6])
    expected = by_hand(model, x, off=[1, 4], driven=[6])
    assert torch.allclose(result.after, expected, atol=1e-6)
    assert not torch.allclose(result.after, result.before, atol=1e-3)  # the switch did change the images
    bce = -(x * expected.clamp(1e-7, 1 - 1e-7).log() + (1 - x) * (1 - expected.clamp(1e-7, 1 - 1e-7)).log())
    assert torch.allclose(result.loss_after, bce.flatten(1).sum(1), atol=1e-4)
    assert result.off == (1, 4) and result.driven == (6,)


def test_switching_nothing_gives_exactly_the_models_own_reconstruction_and_loss():
    model, x = small_model(), images()
    result = switch_units(model, x)
    with torch.no_grad():
        own = model(x)
    assert torch.equal(result.after, own) and torch.equal(result.before, own)
    assert result.change == 0.0
    assert result.mean_before == pytest.approx(held_out_recon(model, x), rel=1e-6)


def test_a_driven_unit_takes_its_maximum_over_the_images():
    model, x = small_model(), images()
    h = model.embed(x)
    switched = switched_codes(h, off=[0], driven=[2])
    assert (switched[:, 0] == 0).all()
    assert (switched[:, 2] == h[:, 2].max()).all()
    others = [1, 3, 4, 5, 6]
    assert torch.equal(switched[:, others], h[:, others])
    assert torch.equal(h, model.embed(x))  # the codes given are not changed


def test_mse_model_uses_its_half_squared_error():
    model, x = small_model(code_activation="tanh", output_activation="tanh", loss="mse"), images()
    result = switch_units(model, x, off=[3])
    with torch.no_grad():
        h = torch.tanh(x.flatten(1) @ model.to_code.weight.t() + model.to_code.bias)
        h[:, 3] = 0.0
        expected = torch.tanh(h @ model.from_code.weight.t() + model.from_code.bias).reshape(x.shape)
    assert torch.allclose(result.after, expected, atol=1e-6)
    assert torch.allclose(result.loss_after, 0.5 * (expected - x).pow(2).flatten(1).sum(1), atol=1e-5)


def test_single_unit_costs_are_the_loss_change_of_switching_each_unit_alone():
    model, x = small_model(), images()
    costs = single_unit_costs(model, x)
    assert costs.shape == (7,)
    for unit in (0, 3, 6):
        assert costs[unit].item() == pytest.approx(switch_units(model, x, off=[unit]).change, abs=1e-4)


def test_bad_unit_choices_get_clear_messages():
    model, x = small_model(), images()
    with pytest.raises(ConfigError, match="unit 7 does not exist; this model has units 0…6"):
        switch_units(model, x, off=[7])
    with pytest.raises(ConfigError, match="unit 2 is both switched off and driven to its maximum"):
        switch_units(model, x, off=[2], driven=[2, 3])


def test_units_from_the_url_keep_the_valid_ones_in_order():
    assert parse_units("3,17, 3,x,-1,120,0", latent=100) == [3, 17, 0]
    assert parse_units("", latent=100) == [] and parse_units(None, latent=100) == []


def test_sentences_carry_the_numbers():
    model, x = small_model(), images()
    result = switch_units(model, x, off=[1], driven=[5])
    text = switch_sentence(result, "BCE")
    assert f"**{result.mean_before:.2f} → {result.mean_after:.2f} ({result.change:+.2f})**" in text
    assert "unit 1 set to 0" in text and f"unit 5 set to its held-out maximum ({result.maxima[5]:.2f})" in text
    assert text.startswith(f"Reconstruction BCE per image on all {len(x)} held-out images: **")
    assert "Nothing switched yet" in switch_sentence(switch_units(model, x), "BCE")
    costs = torch.tensor([0.5, 2.0, -0.1, 1.0])
    assert costs_sentence(costs, "BCE") == ("Switched off alone, unit 1 costs the most: **+2.00** BCE per image; "
                                            "the median unit +0.50, the least -0.10.")


def test_the_change_row_puts_every_image_on_one_scale_with_zero_at_mid_grey():
    before = np.zeros((2, 1, 3, 3))
    after = before.copy()
    after[0, 0, 0, 0], after[1, 0, 1, 1] = 0.5, -0.25  # the second image changes half as much, the other way
    rgb, scale = change_rgb(before, after)
    assert scale == 0.5 and rgb.shape == (2, 3, 3, 3)
    grey = rgb[..., 0]
    assert grey[0, 0, 0] == 255 and grey[1, 1, 1] == round(255 * 0.25)  # white; a quarter of the way to black
    assert (grey[0].flatten()[1:] == grey[1, 0, 0]).all() and grey[1, 0, 0] in (127, 128)  # unchanged: mid-grey
    assert change_rgb(before, before)[1] == 0.0
