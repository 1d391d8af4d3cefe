"""Question (a)'s lead and the unit grids' lead sentence: the tied/untied pair scored on the same images
(models/analysis/tied_untied.py), the sentences built from those numbers (models/analysis/tied_findings.py), and
the loss axis that shows the gap (ui/features/plots.py)."""

import json

import pytest
import torch

from models.analysis.tied_findings import Smoothness, pair_lead, smoothness_lead
from models.analysis.tied_untied import Curve, PairLoss, compare_pair, reconstruction_loss
from tests import ROOT
from tests.unit.test_feature_pictures import catalog_model, needs_pair, small_model
from ui.features.plots import gap_axis_range, learning_curves_figure


def test_reconstruction_loss_is_the_mean_per_image_bce_computed_by_hand():
    model = small_model(latent=3, input_shape=(1, 4, 4))
    x = torch.rand(5, 1, 4, 4)
    with torch.no_grad():
        x_hat = torch.sigmoid(model.from_code(torch.sigmoid(model.to_code(x.flatten(1))))).reshape_as(x)
    by_hand = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).flatten(1).sum(1).mean()
    model.train()
    assert reconstruction_loss(model, x) == pytest.approx(float(by_hand), rel=1e-5)
    assert model.training  # left as it was


def test_compare_pair_scores_both_models_on_the_same_images_and_counts_parameters():
    tied, untied = small_model(latent=3, tied=True), small_model(latent=3)
    x = torch.rand(6, 1, 12, 10)
    pair = compare_pair(tied, untied, x)
    assert pair.images == 6
    assert (pair.tied_loss, pair.untied_loss) == (reconstruction_loss(tied, x), reconstruction_loss(untied, x))
    # 120 pixels, 3 units: W (360) + b (3) + b′ (120); untied adds W′ (360)
    assert (pair.tied_parameters, pair.untied_parameters, pair.extra_parameters) == (483, 843, 360)
    assert pair.saving == pytest.approx(pair.tied_loss - pair.untied_loss)


def test_pair_lead_quotes_both_losses_and_what_the_extra_parameters_buy():
    better = PairLoss(tied_loss=78.8, untied_loss=60.0, tied_parameters=79284, untied_parameters=157684, images=500)
    text = pair_lead(better)
    assert text.startswith("Held-out BCE per image on the same 500 digits: untied **60.0**, tied **78.8**.")
    assert "+78,400 parameters: 157,684 against 79,284" in text
    assert "cuts the loss by **18.8 per image (24%)**" in text
    worse = PairLoss(tied_loss=70.0, untied_loss=72.5, tied_parameters=10, untied_parameters=20, images=9)
    text = pair_lead(worse, "½‖x−x̂‖²")
    assert "Held-out ½‖x−x̂‖² per image on the same 9 digits" in text
    assert "does not lower it here: tied is better by **2.5 per image**" in text and "cuts" not in text


def test_smoothness_lead_calls_only_rows_under_half_as_smooth_as_columns_noise():
    tied, untied = Smoothness("left", True, 0.65, 0.65), Smoothness("right", False, 0.16, 0.71)
    text = smoothness_lead([tied, untied], 0.80, 500)
    assert text.startswith("Right model: encoder rows look like noise (neighbouring pixels correlate **+0.16**; its "
                           "decoder columns **+0.71**) because a row only reads")
    assert "on smooth images (**+0.80**, 500 held-out) pixel-level wiggles barely change wᵢ·x." in text
    assert text.endswith("Left: a tied W also draws the output (**+0.65**).")
    contractive = Smoothness("left", False, 0.60, 0.71)  # rows more than half as smooth: no "noise"
    text = smoothness_lead([contractive, Smoothness("right", True, 0.65, 0.65)], 0.80, 500)
    assert "noise" not in text and "also" not in text
    assert "Left model: **+0.71** in its decoder columns, **+0.60** in its encoder rows." in text
    assert "Right: a tied W draws the output (**+0.65**)." in text


def _curve(heldout, train, best):
    return Curve(epochs=list(range(1, len(heldout) + 1)), train=train, heldout=heldout, best_epoch=best)


def test_the_loss_axis_shows_the_gap_not_the_first_epochs():
    curves = {"tied": _curve([540.0, 90.0, 78.8, 79.0], [500.0, 85.0, 69.3, 69.0], 3),
              "untied": _curve([550.0, 80.0, 61.0, 60.0], [510.0, 70.0, 54.0, 53.4], 4)}
    low, high = gap_axis_range(curves)
    assert low == pytest.approx(0.9 * 53.4) and high == pytest.approx(1.3 * 78.8)
    assert gap_axis_range({"last": _curve([10.0, 12.0], [9.0, 8.0], None)})[1] == pytest.approx(1.3 * 12.0)
    assert gap_axis_range({}) is None
    figure = json.loads(learning_curves_figure(curves).to_json())
    assert figure["layout"]["yaxis"]["range"] == pytest.approx([low, high])
    assert learning_curves_figure(curves, zoom=False).layout.yaxis.range is None
    kept = [t for t in figure["data"] if t["name"].endswith("kept epoch 4")]
    assert kept[0]["text"] == ["60.0"]  # the kept held-out loss is written on the chart


@needs_pair
def test_the_shipped_pair_on_its_held_out_digits_matches_the_records():
    from models.data import load_dataset  # noqa: PLC0415

    tied, untied = catalog_model("mnist_tied100"), catalog_model("mnist_untied100")
    x = load_dataset("mnist", source="bundled").test
    pair = compare_pair(tied, untied, x)
    records = [json.loads((ROOT / "pretrained" / f"{n}.json").read_text())["record"]
               for n in ("mnist_tied100", "mnist_untied100")]
    assert pair.images == records[0]["heldout_size"] == 500
    assert pair.tied_loss == pytest.approx(records[0]["final_heldout_loss"], abs=0.05)
    assert pair.untied_loss == pytest.approx(records[1]["final_heldout_loss"], abs=0.05)
