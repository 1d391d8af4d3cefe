"""Checkpoints: weights in safetensors, config and training record in JSON beside them. Never pickle.

A checkpoint is `<name>.safetensors` + `<name>.json`. Loading validates the JSON (its size, nesting depth and
number lengths before parsing it), the config, and the name, shape, finiteness and size of every tensor, and
raises CheckpointError naming the problem.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from models.autoencoders import Autoencoder, build_model
from models.config import ModelConfig, brief
from models.errors import CheckpointError, ConfigError

FORMAT = "autoencoder-explorer/1"
MAX_WEIGHTS_BYTES = 256 * 2**20  # far above any model here; refuses an upload that would eat the server
MAX_JSON_BYTES = 1 * 2**20
MAX_JSON_DEPTH = 64  # a checkpoint's JSON nests 3-4 levels; Python's parser recurses once per level
MAX_JSON_DIGITS = 40  # longer integers are no count or seed (and past 4,300 digits Python refuses to read them)
MAX_WEIGHT = 1e6  # trained weights are of order 1 (the shipped ones stay below 2); 1e18 only overflows later


def paths_for(path: str | Path) -> tuple[Path, Path]:
    """The (weights, json) pair for a stem or either file's path."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def to_bytes(model: Autoencoder, record: dict | None = None) -> tuple[bytes, bytes]:
    """The checkpoint as (safetensors bytes, JSON bytes), e.g. for a download button."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = save_safetensors_bytes(state, metadata={"format": FORMAT})
    document = {"format": FORMAT, "config": model.config.to_dict(), "record": _finite_json(record or {})}
    return weights, json.dumps(document, indent=2, sort_keys=True).encode()


def save_checkpoint(model: Autoencoder, path: str | Path, record: dict | None = None) -> tuple[Path, Path]:
    weights_path, json_path = paths_for(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    weights, document = to_bytes(model, record)
    weights_path.write_bytes(weights)
    json_path.write_bytes(document)
    return weights_path, json_path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[Autoencoder, dict]:
    """Rebuild the model from its JSON config and load its weights; the model comes back in eval mode."""
    weights_path, json_path = paths_for(path)
    for p in (weights_path, json_path):
        if not p.is_file():
            raise CheckpointError(f"checkpoint file {p} does not exist (a checkpoint is a .safetensors and a .json)")
    for p, limit in ((weights_path, MAX_WEIGHTS_BYTES), (json_path, MAX_JSON_BYTES)):
        if p.stat().st_size > limit:
            raise CheckpointError(f"{p.name} is {p.stat().st_size:,} bytes, over the {limit:,}-byte limit")
    return from_bytes(weights_path.read_bytes(), json_path.read_bytes(), name=weights_path.stem,
                      map_location=map_location)


def from_bytes(weights: bytes, document: bytes, name: str = "checkpoint",
               map_location: str | torch.device = "cpu") -> tuple[Autoencoder, dict]:
    if len(weights) > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{name}: the weights are {len(weights):,} bytes, over the {MAX_WEIGHTS_BYTES:,} limit")
    if len(document) > MAX_JSON_BYTES:
        raise CheckpointError(f"{name}: the JSON is {len(document):,} bytes, over the {MAX_JSON_BYTES:,} limit")
    config, record = _parse_document(document, name)
    try:
        # A shape-only model on the meta device: a 300-byte JSON can describe gigabytes of parameters, so
        # nothing real is built until the weights are known to match it.
        with torch.device("meta"):
            skeleton = build_model(config)
    except ConfigError as exc:
        raise CheckpointError(f"{name}: its config is invalid: {exc}") from exc
    try:
        state = load_safetensors_bytes(weights)
    except (SafetensorError, ValueError, OSError, RuntimeError) as exc:
        raise CheckpointError(f"{name}: the weights file is not a readable safetensors file "
                              f"(corrupt or truncated?): {exc}") from exc
    _check_state(skeleton, state, name)
    model = build_model(config)
    model.load_state_dict(state)
    return model.to(map_location).eval(), record


def json_nesting_depth(document: bytes) -> int:
    """How deeply a JSON text nests [ and {, brackets inside strings not counted; found without parsing, in
    linear time, so a document of 100,000 nested brackets is refused before Python's parser recurses into it."""
    b = np.frombuffer(document, dtype=np.uint8)
    if b.size == 0:
        return 0
    index = np.arange(b.size)
    last_plain = np.maximum.accumulate(np.where(b == ord("\\"), -1, index))  # last byte that is no backslash
    backslashes_before = np.concatenate([[0], index[:-1] - last_plain[:-1]])
    quote = (b == ord('"')) & (backslashes_before % 2 == 0)  # a quote no backslash escapes
    in_string = (np.cumsum(quote) - quote) % 2 == 1
    opens = (b == ord("[")) | (b == ord("{"))
    closes = (b == ord("]")) | (b == ord("}"))
    step = np.where(in_string, 0, opens.astype(np.int64) - closes)
    return max(int(np.cumsum(step).max()), 0)


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise CheckpointError(f"it holds a whole number {len(text.lstrip('-')):,} digits long; numbers in a "
                              f"checkpoint are at most {MAX_JSON_DIGITS} digits")
    return int(text)


def parse_json(document: bytes, name: str):
    """Parse a checkpoint's JSON; anything wrong with it is a CheckpointError naming the problem."""
    depth = json_nesting_depth(document)
    if depth > MAX_JSON_DEPTH:
        raise CheckpointError(f"{name}: the config file nests lists or objects {depth:,} levels deep; a "
                              f"checkpoint's JSON needs a few and at most {MAX_JSON_DEPTH} are accepted")
    try:
        return json.loads(document.decode("utf-8"), parse_int=_parse_int)
    except CheckpointError as exc:
        raise CheckpointError(f"{name}: the config file is not a checkpoint's JSON: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise CheckpointError(f"{name}: the config file is not valid JSON: {brief(str(exc), 120)}") from None


def _parse_document(document: bytes, name: str) -> tuple[ModelConfig, dict]:
    data = parse_json(document, name)
    if not isinstance(data, dict) or "config" not in data:
        raise CheckpointError(f"{name}: the JSON has no 'config' object, so the model cannot be rebuilt")
    if data.get("format") != FORMAT:
        raise CheckpointError(f"{name}: unknown checkpoint format {brief(data.get('format'))}; expected {FORMAT!r}")
    try:
        config = ModelConfig.from_dict(data["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{name}: its config is invalid: {exc}") from exc
    record = data.get("record") or {}
    if not isinstance(record, dict):
        raise CheckpointError(f"{name}: 'record' must be a JSON object")
    return config, record


def _check_state(model: Autoencoder, state: dict[str, torch.Tensor], name: str) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{name}: the weights do not match the config: "
            + "; ".join(filter(None, [f"missing {', '.join(missing)}" if missing else "",
                                      f"unexpected {', '.join(unexpected)}" if unexpected else ""]))
        )
    for key in expected:  # the model's own order, so the first tensor named is the one nearest the input
        tensor = state[key]
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise CheckpointError(f"{name}: tensor {key} has shape {tuple(tensor.shape)}, "
                                  f"the config needs {tuple(expected[key].shape)}")
        if tensor.dtype != expected[key].dtype:
            raise CheckpointError(f"{name}: tensor {key} is {tensor.dtype}, expected {expected[key].dtype}")
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{name}: tensor {key} contains NaN or infinite values")
        largest = float(tensor.abs().max()) if tensor.numel() else 0.0
        if largest > MAX_WEIGHT:
            raise CheckpointError(f"{name}: tensor {key} holds values up to {largest:.3g}; weights beyond "
                                  f"±{MAX_WEIGHT:.0e} are refused, as they overflow (a trained autoencoder's are "
                                  f"of order 1)")


def _finite_json(value):
    """JSON has no NaN/inf: store them as null so every reader can parse the record."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    return value
