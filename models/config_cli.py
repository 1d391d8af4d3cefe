"""The configs on the command line, both ways, derived from the dataclass fields: each ModelConfig and
TrainConfig field is one `--flag` of `python -m models.train` (its name with '-' for '_'), the parsed flags
give the configs back, and configs give the flags that repeat them. A new config field is a new flag with no
other edit (a line in HELP, and in CHOICES if it takes a fixed set of words).
"""

from __future__ import annotations

import argparse
import typing
from dataclasses import MISSING, Field, fields
from types import NoneType, UnionType

from models.config import (ACTIVATIONS, ARCHS, KINDS, LOSSES, LR_SCHEDULES, NOISES, OUTPUT_ACTIVATIONS, PRECISIONS,
                           SPARSITIES, ModelConfig, TrainConfig)

CONFIGS = (ModelConfig, TrainConfig)
NOT_FLAGS = {"input_shape"}  # ModelConfig.input_shape comes from the data, not the command line
CHOICES = {"kind": KINDS, "arch": ARCHS, "activation": ACTIVATIONS, "code_activation": ACTIVATIONS,
           "output_activation": OUTPUT_ACTIVATIONS, "loss": LOSSES, "noise": NOISES, "sparsity": SPARSITIES,
           "lr_schedule": LR_SCHEDULES, "precision": PRECISIONS}
HELP = {
    "kind": "plain autoencoder or variational",
    "arch": "dense (linear layers) or conv (convolutions)",
    "hidden": "dense widths or conv channels (none: a single-layer dense model)",
    "latent": "size of the code",
    "activation": "of the hidden layers",
    "code_activation": "of the code (a VAE's is identity)",
    "output_activation": "auto: sigmoid for bce, identity for mse; tanh (mse only) for outputs in (−1,1)",
    "tied": "dense only: the decoder uses the transpose of each encoder weight",
    "loss": "bce for pixels in [0,1], mse for ½‖x−x̂‖²",
    "beta": "VAE: weight of the KL term",
    "noise": "denoising: corruption applied to the input while training",
    "noise_level": "Gaussian σ, or the fraction of pixels masked / salted",
    "sparsity": "l1 on the code, or kl to a target mean activation",
    "sparsity_weight": "λ of the sparsity penalty",
    "sparsity_target": "ρ for the kl sparsity penalty",
    "contractive_weight": "λ on ‖∂h/∂x‖²",
    "conv_dense": "conv: a dense layer of this width beside the code",
    "epochs": "passes over the training images",
    "batch_size": "images per gradient step",
    "lr": "Adam's learning rate",
    "seed": "of the initial weights, the shuffles and the noise",
    "max_seconds": "wall-clock cap: stop after the epoch that passes it",
    "weight_decay": "Adam's weight decay",
    "threads": "torch CPU threads while training",
    "patience": "early stop after N epochs without a better held-out loss",
    "lr_schedule": "cosine: decay to 0 over the epochs",
    "kl_warmup": "VAE: epochs over which β ramps up from 0",
    "shift": "augmentation: random shifts of up to ±N pixels",
    "ema": "keep a moving average of the weights, e.g. 0.999",
    "precision": "bfloat16: mixed-precision training steps (autocast); weights stay float32",
}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def flag_fields(cls) -> list[Field]:
    """The fields of a config class that are command-line flags, in declaration order."""
    return [f for f in fields(cls) if f.name not in NOT_FLAGS]


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per flag field of each config, in a group per config, with the field's default."""
    for cls in CONFIGS:
        group = parser.add_argument_group(f"{cls.__name__} fields")
        hints = typing.get_type_hints(cls)
        for f in flag_fields(cls):
            group.add_argument(flag(f.name), **_option(f, hints[f.name]))


def _option(f: Field, hint) -> dict:
    default = f.default
    if default is MISSING:  # every config field has a default, which is what the flag falls back to
        raise TypeError(f"{f.name} has no default, so it cannot be an optional flag")
    option = {"help": HELP.get(f.name)}
    if hint is bool:
        if default is not False:  # store_true can only turn a field on
            raise TypeError(f"{f.name}: a bool flag needs the default False")
        return {**option, "action": "store_true"}
    if typing.get_origin(hint) in (UnionType, typing.Union):  # `int | None`: None when the flag is absent
        (hint,) = (arg for arg in typing.get_args(hint) if arg is not NoneType)
    if typing.get_origin(hint) is tuple:  # `tuple[int, ...]`: any number of values, none included
        (hint, _) = typing.get_args(hint)
        return {**option, "type": hint, "nargs": "*", "default": list(default), "metavar": "N"}
    if f.name in CHOICES:
        option["choices"] = CHOICES[f.name]
    return {**option, "type": hint, "default": default}


def configs_from_args(args: argparse.Namespace, input_shape: tuple[int, int, int]
                      ) -> tuple[ModelConfig, TrainConfig]:
    """The configs that parsed flags describe (not yet validated); the input shape is the data's."""
    model_values = {f.name: _field_value(args, f) for f in flag_fields(ModelConfig)}
    train_values = {f.name: _field_value(args, f) for f in flag_fields(TrainConfig)}
    return ModelConfig(input_shape=tuple(input_shape), **model_values), TrainConfig(**train_values)


def _field_value(args: argparse.Namespace, f: Field):
    value = getattr(args, f.name)
    return tuple(value) if isinstance(value, list) else value


def config_argv(model_config: ModelConfig, train_config: TrainConfig) -> list[str]:
    """The flags that give these configs back: one per field that differs from its default, in the
    fields' order (ModelConfig's, then TrainConfig's), so the same configs always give the same words."""
    argv = []
    for config in (model_config, train_config):
        for f in flag_fields(type(config)):
            value = getattr(config, f.name)
            if value == f.default:
                continue
            if value is None:  # no flag gives None back where the default is something else
                raise ValueError(f"{f.name}=None differs from its default and has no flag")
            argv.append(flag(f.name))
            if isinstance(value, tuple):
                argv += [_word(v) for v in value]
            elif value is not True:
                argv.append(_word(value))
    return argv


def _word(value) -> str:
    if isinstance(value, float):  # 0.001, not 0.0010000000000000002; repr where the short form would round
        text = f"{value:g}"
        return text if float(text) == value else repr(value)
    return str(value)
