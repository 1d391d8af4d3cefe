"""A model's decoder as a flat program that a browser can run: a list of ops and one float32 weight buffer.

The latent plane decodes z in the browser on every pointer move, with the model's own weights. Its runtime knows
four ops, enough for every decoder ModelConfig builds:

- ``linear``: y = W x + b, W row-major (out, in), as torch stores it (a tied layer exports Wᵀ of its source);
- ``act``: sigmoid, tanh or relu, elementwise (identity is dropped);
- ``conv_transpose``: ConvTranspose2d on a height × width × channels (HWC) tensor, weights stored as
  (out_channels, kh, kw, in_channels) so the innermost loop is one contiguous dot product over input channels;
- the image comes out HWC.

torch's Unflatten(1, (C, H, W)) reads a flat vector in CHW order; here the Linear before it has its rows permuted
to HWC instead, so no op ever reshuffles memory. `run_program` is a NumPy interpreter of the same program: the
tests hold it against torch for every kind of decoder, and the browser against both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from models.autoencoders import Autoencoder, TiedLinear
from models.errors import ConfigError

ACTS = {nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu"}
MAX_FRAME_WEIGHT_BYTES = 1_000_000  # decoder weights one live frame sends the browser (about twice a second)
HALF_MAX = 65504.0  # float16's largest finite value


@dataclass
class DecoderProgram:
    ops: list[dict]  # JSON-ready; weights are referred to by offset and length, in floats
    weights: np.ndarray  # float32, 1-D (float16 in a big decoder's live frames: frame_weights)
    latent: int
    image_shape: tuple[int, int, int]  # (C, H, W), as the model's config says; the program's output is H×W×C
    weight_count: int = 0  # floats in weights (also when they were not copied)

    def frame_weights(self) -> tuple[np.ndarray, int]:
        """(the weights a live frame sends, k: they go with one frame in k). float32 up to
        MAX_FRAME_WEIGHT_BYTES; float16 above; and when even float16 is over, one frame in k carries them, k the
        smallest that keeps any k frames in a row within MAX_FRAME_WEIGHT_BYTES a frame."""
        if self.weights.size * 4 <= MAX_FRAME_WEIGHT_BYTES:
            return np.asarray(self.weights, np.float32), 1
        return half(self.weights), -(-self.weights.size * 2 // MAX_FRAME_WEIGHT_BYTES)

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds of one decode: what a pointer move costs the browser."""
        total = 0
        for op in self.ops:
            if op["op"] == "linear":
                total += op["in"] * op["out"]
            elif op["op"] == "conv_transpose":
                total += op["out_h"] * op["out_w"] * op["out_c"] * op["in_c"] * op["kh"] * op["kw"] // \
                    (op["sh"] * op["sw"])
        return total


def half(weights: np.ndarray) -> np.ndarray:
    """float16 weights, clipped to float16's range so that no weight becomes inf."""
    return np.clip(weights, -HALF_MAX, HALF_MAX).astype(np.float16)


def decoder_program(model: Autoencoder, with_weights: bool = True) -> DecoderProgram:
    """Export decode(z) = out_act(decoder(from_code(z))) of any model that build_model makes.

    with_weights=False builds the ops only (no copy; works on the meta device), e.g. to price a decode."""
    cfg = model.config
    layers = [model.from_code, *_flatten(model.decoder), model.out_act]
    ops: list[dict] = []
    arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # op index -> (weight, bias), before packing
    shape: tuple[int, ...] = (cfg.latent,)  # flat (n,) or (H, W, C)
    for layer in layers:
        if isinstance(layer, (nn.Linear, TiedLinear)):
            weight, bias = (_numpy(layer.weight), _numpy(layer.bias)) if with_weights else \
                (_Shape(tuple(layer.weight.shape)), _Shape(tuple(layer.bias.shape)))
            if len(shape) != 1 or weight.shape[1] != shape[0]:
                raise ConfigError(f"cannot export {type(layer).__name__}: its input is {shape}, it expects "
                                  f"{weight.shape[1]} values")
            arrays[len(ops)] = (weight, bias)
            ops.append({"op": "linear", "in": weight.shape[1], "out": weight.shape[0]})
            shape = (weight.shape[0],)
        elif type(layer) in ACTS:
            ops.append({"op": "act", "fn": ACTS[type(layer)]})
        elif isinstance(layer, nn.Identity):
            continue
        elif isinstance(layer, nn.Unflatten):
            c, h, w = (int(v) for v in layer.unflattened_size)
            if with_weights:
                _permute_rows_to_hwc(ops, arrays, (c, h, w))
            shape = (h, w, c)
        elif isinstance(layer, nn.ConvTranspose2d):
            shape = _conv_transpose(layer, shape, ops, arrays, with_weights)
        else:
            raise ConfigError(f"the browser decoder has no op for {type(layer).__name__}")
    c, h, w = cfg.input_shape
    if shape != (h, w, c):
        raise ConfigError(f"the exported decoder ends in {shape}, not the image's {(h, w, c)} (H, W, C)")
    return _pack(ops, arrays, cfg.latent, (c, h, w))


def _flatten(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [leaf for child in module for leaf in _flatten(child)]
    return [module]


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().float().numpy().copy()


def _permute_rows_to_hwc(ops: list[dict], arrays: dict, chw: tuple[int, int, int]) -> None:
    """The flat vector before Unflatten comes from the last Linear (only elementwise ops may follow it):
    reorder that Linear's outputs from CHW to HWC."""
    for index in range(len(ops) - 1, -1, -1):
        if ops[index]["op"] == "linear":
            break
        if ops[index]["op"] != "act":
            raise ConfigError("Unflatten must follow a Linear layer (and activations) to be exported")
    else:
        raise ConfigError("Unflatten with no Linear layer before it cannot be exported")
    c, h, w = chw
    weight, bias = arrays[index]
    if weight.shape[0] != c * h * w:
        raise ConfigError(f"Unflatten to {chw} follows a Linear with {weight.shape[0]} outputs")
    order = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
    arrays[index] = (weight[order], bias[order])


def _conv_transpose(layer: nn.ConvTranspose2d, shape: tuple[int, ...], ops: list[dict], arrays: dict,
                    with_weights: bool):
    if len(shape) != 3 or shape[2] != layer.in_channels:
        raise ConfigError(f"cannot export ConvTranspose2d: its input is {shape}, it expects "
                          f"{layer.in_channels} channels")
    if layer.groups != 1 or tuple(layer.dilation) != (1, 1) or layer.padding_mode != "zeros":
        raise ConfigError("the browser decoder supports ConvTranspose2d with groups 1, dilation 1, zero padding")
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = layer.kernel_size, layer.stride, layer.padding, layer.output_padding
    h_in, w_in, _ = shape
    h_out = (h_in - 1) * sh - 2 * ph + kh + oh
    w_out = (w_in - 1) * sw - 2 * pw + kw + ow
    if with_weights:
        weight = _numpy(layer.weight).transpose(1, 2, 3, 0)  # (in, out, kh, kw) -> (out, kh, kw, in)
        bias = _numpy(layer.bias) if layer.bias is not None else np.zeros(layer.out_channels, np.float32)
    else:
        weight, bias = _Shape((layer.out_channels, kh, kw, layer.in_channels)), _Shape((layer.out_channels,))
    arrays[len(ops)] = (weight, bias)
    ops.append({"op": "conv_transpose", "in_h": h_in, "in_w": w_in, "in_c": layer.in_channels,
                "out_h": h_out, "out_w": w_out, "out_c": layer.out_channels,
                "kh": kh, "kw": kw, "sh": sh, "sw": sw, "ph": ph, "pw": pw})
    return (h_out, w_out, layer.out_channels)


@dataclass(frozen=True)
class _Shape:
    """Stands in for a weight array when only the program's shapes are wanted."""

    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


def _pack(ops: list[dict], arrays: dict, latent: int, image_shape) -> DecoderProgram:
    chunks, offset = [], 0
    for index, (weight, bias) in arrays.items():
        for name, array in (("w", weight), ("b", bias)):
            size = array.size
            ops[index][name] = [offset, int(size)]
            if not isinstance(array, _Shape):
                chunks.append(np.ascontiguousarray(array, dtype=np.float32).reshape(-1))
            offset += size
    weights = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return DecoderProgram(ops=ops, weights=weights, latent=latent, image_shape=tuple(image_shape),
                          weight_count=offset)


# --- a NumPy interpreter of the program (what the browser computes) ------------------------------------------
def run_program(program: DecoderProgram, z: np.ndarray) -> np.ndarray:
    """Decode codes z (N, latent) with the program; returns float32 images (N, C, H, W) like model.decode."""
    z = np.asarray(z, dtype=np.float32).reshape(-1, program.latent)
    return np.stack([_run_one(program, row) for row in z]).transpose(0, 3, 1, 2)


def _run_one(program: DecoderProgram, x: np.ndarray) -> np.ndarray:
    w = program.weights
    for op in program.ops:
        if op["op"] == "linear":
            weight = _slice(w, op["w"]).reshape(op["out"], op["in"])
            x = weight @ x.reshape(-1) + _slice(w, op["b"])
        elif op["op"] == "act":
            x = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
                 "relu": lambda v: np.maximum(v, 0)}[op["fn"]](x)
        else:
            x = _conv_transpose_hwc(x.reshape(op["in_h"], op["in_w"], op["in_c"]), op, w)
        x = x.astype(np.float32)
    c, h, w_ = program.image_shape
    return x.reshape(h, w_, c)


def _slice(weights: np.ndarray, where: list[int]) -> np.ndarray:
    start, length = where
    return weights[start:start + length]


def _conv_transpose_hwc(x: np.ndarray, op: dict, weights: np.ndarray) -> np.ndarray:
    """Scatter form: each input pixel adds its kernel-sized patch to the output (the browser gathers; the
    two must agree)."""
    kernel = _slice(weights, op["w"]).reshape(op["out_c"], op["kh"], op["kw"], op["in_c"])
    h_full = (op["in_h"] - 1) * op["sh"] + op["kh"]
    w_full = (op["in_w"] - 1) * op["sw"] + op["kw"]
    full = np.zeros((max(h_full, op["out_h"] + op["ph"]), max(w_full, op["out_w"] + op["pw"]), op["out_c"]),
                    np.float64)
    patches = np.einsum("yxi,okli->yxklo", x.astype(np.float64), kernel.astype(np.float64))
    for iy in range(op["in_h"]):
        for ix in range(op["in_w"]):
            y0, x0 = iy * op["sh"], ix * op["sw"]
            full[y0:y0 + op["kh"], x0:x0 + op["kw"]] += patches[iy, ix]
    out = full[op["ph"]:op["ph"] + op["out_h"], op["pw"]:op["pw"] + op["out_w"]]
    return out + _slice(weights, op["b"])
