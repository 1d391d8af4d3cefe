"""Issue 9's fuzz test: a few hundred seeded, generated bad inputs (nested and huge JSON, extreme weights, odd
names, odd form values), each through the function its page calls. Every one must end in an accepted model
that is fit to show, or an AutoencoderError (a message for the user), never another exception."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest
import torch

from models.autoencoders import build_model
from models.checkpoint import to_bytes
from models.config import ModelConfig
from models.data import load_dataset
from models.errors import AutoencoderError
from models.training.checks import behaviour_problem
from ui.train.form import BATCH_SIZES, LEARNING_RATES, TrainForm, accept_checkpoint_upload, build_configs, fresh_model

SEED = 9
CHECKPOINT_CASES = 320
FORM_CASES = 240

CONFIG_FIELDS = list(ModelConfig().to_dict())
ODD_NAMES = ["**bold** [link](#injected)", "", " ", "a" * 300, "../../etc/passwd", "名前 ✓", ":material/home:",
             "<script>alert(1)</script>", "a\nb", "$x^2$", "mine.tar", "\u202eevil", "null"]
ODD_VALUES = ["[]", "{}", '""', "true", "false", "null", "[[1]]", "[-1]", "[0]", "[1e30]", "[8.7]", '"8"', "-1",
              "0", "2.5", "1e308", "1e309", "-1e309", "1e-400", "NaN", "Infinity", "-Infinity", "-0.0",
              json.dumps("x" * 10_000), json.dumps("\u0000\u202e\ud7ff"), "[" + ",".join(["1"] * 5000) + "]"]
EXTREME_SCALES = [1.0, -1.0, 1e3, 1e6, 1e7, 1e18, 1e30, 3e38, -3e38]
EXTREME_FILLS = [1e5, 1e6, 1e7, 1e18, 1e30, 3e38, float("nan"), float("inf"), 0.0]


@pytest.fixture(scope="module")
def mnist():
    """MNIST with 64 held-out images: every accepted model is checked and scored on them, and a few hundred
    cases must run in CI in seconds."""
    data = load_dataset("mnist", source="bundled")
    return dataclasses.replace(data, test=data.test[:64], test_labels=data.test_labels[:64])


@pytest.fixture
def one_thread():
    """Hundreds of tiny models: one torch thread avoids thread-pool overhead on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def base_model(hidden=(8,), **config):
    torch.manual_seed(0)
    return build_model(ModelConfig(hidden=hidden, **config)).eval()


def nested(rng: random.Random) -> str:
    depth = rng.choice([3, 63, 64, 65, 1000, 5000, 100_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    return opener * depth + "1" + closer * depth


def huge_number(rng: random.Random) -> str:
    digits = rng.choice([17, 40, 41, 400, 4300, 4301, 6000])
    text = "".join(rng.choice("0123456789") for _ in range(digits)).lstrip("0") or "0"
    return rng.choice(["", "-"]) + text + rng.choice(["", "", ".5", "e5"])


def json_variant(rng: random.Random, document: dict) -> bytes:
    """A checkpoint's JSON with one hostile change."""
    data = json.loads(json.dumps(document))
    kind = rng.choice(["nested", "huge", "odd", "missing", "unknown", "record", "truncate", "bytes", "format"])
    raw = {"nested": nested, "huge": huge_number, "odd": lambda r: r.choice(ODD_VALUES)}
    if kind in raw:
        field = rng.choice(CONFIG_FIELDS)
        data["config"][field] = "@@VALUE@@"
        return json.dumps(data).replace('"@@VALUE@@"', raw[kind](rng)).encode()
    if kind == "missing":
        del data["config"][rng.choice(CONFIG_FIELDS)]
    elif kind == "unknown":
        data["config"].update({f"x{i}": i for i in range(rng.choice([1, 50]))})
    elif kind == "record":
        data["record"] = "@@VALUE@@"
        replacement = rng.choice([nested(rng), huge_number(rng), rng.choice(ODD_VALUES),
                                  '{"dataset": ' + rng.choice(ODD_VALUES) + ', "epochs": ' + huge_number(rng) + "}"])
        return json.dumps(data).replace('"@@VALUE@@"', replacement).encode()
    elif kind == "format":
        data["format"] = rng.choice([None, 1, "autoencoder-explorer/2", "x" * 5000])
    text = json.dumps(data).encode()
    if kind == "truncate":
        return text[:rng.randrange(len(text))]
    if kind == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 10, 2000])))
    return text


def weights_variant(rng: random.Random, model) -> bytes:
    """A model's safetensors with extreme (often finite) weights, or broken bytes."""
    model = build_model(model.config)
    kind = rng.choice(["scale", "scale", "fill", "fill", "truncate", "bytes"])
    with torch.no_grad():
        if kind == "scale":
            scale = rng.choice(EXTREME_SCALES)
            for parameter in model.parameters():
                parameter.mul_(scale)
        elif kind == "fill":
            rng.choice(list(model.parameters())).fill_(rng.choice(EXTREME_FILLS))
    weights, _ = to_bytes(model)
    if kind == "truncate":
        return weights[:rng.randrange(len(weights))]
    if kind == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 8, 500])))
    return weights


def checkpoint_case(rng: random.Random) -> list[tuple[str, bytes]]:
    model = base_model(**rng.choice([{}, {"kind": "vae"}, {"hidden": (), "code_activation": "sigmoid"},
                                     {"hidden": (16, 8), "loss": "mse"}]))
    weights, document = to_bytes(model, {"dataset": rng.choice(["mnist", "fashion-mnist", "lfw", None])})
    change = rng.choice(["json", "weights", "both", "names"])
    if change in ("json", "both"):
        document = json_variant(rng, json.loads(document))
    if change in ("weights", "both"):
        weights = weights_variant(rng, model)
    stem = rng.choice(ODD_NAMES) if change == "names" or rng.random() < 0.2 else "fuzz"
    files = [(f"{stem}.safetensors", weights), (f"{stem}.json", document)]
    if change == "names" and rng.random() < 0.3:
        files = rng.choice([files[:1], files * 2, [(f"{stem}.txt", weights), files[1]], []])
    return files


def test_every_generated_checkpoint_is_accepted_fit_to_show_or_refused_with_a_message(mnist, one_thread):
    rng = random.Random(SEED)
    outcomes = {"accepted": 0, "refused": 0}
    for case in range(CHECKPOINT_CASES):
        files = checkpoint_case(rng)
        try:
            upload, data, record = accept_checkpoint_upload(files, lambda dataset: mnist)
        except AutoencoderError as exc:
            assert str(exc).strip(), f"case {case}: an empty message"
            assert len(str(exc)) < 600, f"case {case}: a message of {len(str(exc))} characters"
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # noqa: BLE001  (the point of the test)
            pytest.fail(f"case {case}: {type(exc).__name__}: {str(exc)[:300]}")
        assert behaviour_problem(upload.model, data.test) is None, f"case {case}"
        assert math.isfinite(record["final_heldout_loss"]), f"case {case}"
        outcomes["accepted"] += 1
    # The generator must exercise both ends, or the test says nothing.
    assert outcomes["accepted"] >= 20 and outcomes["refused"] >= 150, outcomes


FORM_VALUES = {
    "latent": [2, 0, -1, 256, 257, 2.5, 1e30, float("nan"), float("inf"), 10**30, True],
    "seed": [0, -1, 2**31 - 1, 2**31, 2**63, 0.5, float("nan")],
    "beta": [1.0, 0.0, -0.5, 100.0, 100.5, 1e30, 3e38, float("nan"), float("-inf")],
    "noise_level": [0.3, 0.0, 1.0, 5.0, 5.1, -1e-9, float("nan"), 1e18],
    "weight": [1.0, 0.0, 1000.0, 1000.1, 1e18, 3e38, float("nan")],
    "rho": [0.05, 0.0, 0.001, 0.999, 1.0, float("inf"), -0.5],
    "hidden": ["256", "", "8.7", "1e3", "-5", "0", "٣", "4096, 4096", "16 16 16 16 16 16 16", "9" * 5000,
               "00000000000000000000016", " , , ", "16;32", "\u0000", "512,256"],
    "regulariser": ["none", "denoising", "l1", "kl", "contractive", "bogus", ""],
    "dataset": ["mnist", "olivetti", "user", "cifar", ""],
    "kind": ["ae", "vae", "gan"],
    "arch": ["dense", "conv", "rnn"],
    "activation": ["relu", "sigmoid", "tanh", "identity", "gelu"],
    "code_activation": ["identity", "sigmoid", "tanh", "relu", "softmax"],
    "loss": ["bce", "mse", "l1"],
    "noise": ["gaussian", "masking", "salt_pepper", "pink"],
    "image_side": [28, 32, 64, 3, 10_000],
    "epochs": [1, 5, 50, 51, 0],
    "lr": [*LEARNING_RATES, 0.0, 100.0, float("nan")],
    "batch_size": [*BATCH_SIZES, 0, 10**6],
    "tied": [False, True],
}


def test_every_generated_train_form_builds_a_model_or_says_what_is_wrong(one_thread):
    rng = random.Random(SEED)
    outcomes = {"accepted": 0, "refused": 0}
    for case in range(FORM_CASES):
        changes = {field: rng.choice(values) for field, values in FORM_VALUES.items() if rng.random() < 0.3}
        form = TrainForm(**changes)
        try:
            model_config, _ = build_configs(form)
            fresh_model(model_config, form.seed)  # what the page builds next: a size check, then the model
        except AutoencoderError as exc:
            assert str(exc).strip() and len(str(exc)) < 600, f"case {case}: {str(exc)[:200]}"
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"case {case} {changes}: {type(exc).__name__}: {str(exc)[:300]}")
        outcomes["accepted"] += 1
    assert outcomes["accepted"] >= 20 and outcomes["refused"] >= 100, outcomes
