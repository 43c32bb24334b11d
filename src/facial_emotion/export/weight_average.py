"""Weight-space averages of model files of one architecture: WiSE-FT and model soups.

A model fine-tuned from another one stays in its basin, so the straight line between the two sets of weights
holds networks that work; part of the way along it, a network often keeps most of what the fine-tune learnt
(here: real faces) and most of what it forgot (here: FER2013 itself). Wortsman et al., "Robust fine-tuning of
zero-shot models" (CVPR 2022, WiSE-FT) and "Model soups" (ICML 2022). Files trained apart from different starts
do not share a basin: their average is not a network, and nothing here can tell; average a file only with its
own fine-tunes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from facial_emotion.core.model_file import read_model_payload

# What must be equal for two files' weights to mean the same thing. Of the preprocessing, only what makes the
# network's input: the views and the early exit are choices made on validation, made again for the average.
_SAME_IN_EVERY_FILE = ("architecture", "class_names", "crop_geometry")
_SAME_INPUT = ("input_size", "crop_size", "mean", "std", "tone")


def _network_facets(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        **{key: payload.get(key) for key in _SAME_IN_EVERY_FILE},
        **{f"input {key}": payload["preprocessing"].get(key) for key in _SAME_INPUT},
    }


class WeightAverageError(ValueError):
    """The files cannot be averaged (different networks) or the weights are not a mixture."""


def mixture_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    """`weights` scaled to sum to 1 (equal when None); one-line errors for a wrong count or a negative weight."""
    if count < 2:
        raise WeightAverageError(f"averaging needs at least two model files, got {count}")
    if weights is None:
        return [1.0 / count] * count
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise WeightAverageError(f"weights must be a list of one number per file, e.g. [0.5,0.5], got {weights!r}")
    if not all(_is_number(weight) for weight in weights):
        raise WeightAverageError(f"weights must be numbers, got {list(weights)}")
    weights = [float(weight) for weight in weights]
    if len(weights) != count:
        raise WeightAverageError(f"{len(weights)} weights for {count} model files: give one weight per file")
    if any(weight < 0 for weight in weights) or sum(weights) <= 0:
        raise WeightAverageError(f"weights must be >= 0 with a positive sum, got {weights}")
    return [weight / sum(weights) for weight in weights]


def _is_number(value: object) -> bool:
    """A finite int or float (not a bool, not text: `weights=[a,b]` arrives as strings)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def average_state_dicts(
    state_dicts: Sequence[dict[str, torch.Tensor]], weights: Sequence[float], names: Sequence[str]
) -> dict[str, torch.Tensor]:
    """The weighted mean of every floating-point tensor (batch-norm running statistics included: averaged the
    same way, they match the averaged weights well enough along a fine-tune's line); integer tensors (batch
    counts) are the first file's. `names` label the files in the errors."""
    first = state_dicts[0]
    for name, state_dict in zip(names[1:], state_dicts[1:], strict=True):
        if state_dict.keys() != first.keys():
            missing = sorted(first.keys() ^ state_dict.keys())
            raise WeightAverageError(f"{name} has other tensors than {names[0]} (e.g. {missing[0]})")
        for key, tensor in state_dict.items():
            if tensor.shape != first[key].shape:
                raise WeightAverageError(
                    f"{name}: {key} has shape {tuple(tensor.shape)}, {names[0]} {tuple(first[key].shape)}"
                )
    averaged = {}
    for key, tensor in first.items():
        if tensor.is_floating_point():
            mean = sum(weight * sd[key].double() for weight, sd in zip(weights, state_dicts, strict=True))
            averaged[key] = mean.float()
        else:
            averaged[key] = tensor.clone()
    return averaged


def average_model_files(paths: Sequence[Path], weights: Sequence[float] | None, command: str) -> dict[str, Any]:
    """The payload of a new model file whose weights are the weighted mean of `paths`' weights.

    Architecture, preprocessing and crop geometry are the files' own (they must agree); the temperatures are
    the first file's until refitted; test metrics are dropped (they were measured on other weights); the
    training record names the command and each file with its weight and its own training record."""
    weights = mixture_weights(weights, len(paths))
    payloads = [read_model_payload(path) for path in paths]
    names = [str(path) for path in paths]
    first = _network_facets(payloads[0])
    for name, payload in zip(names[1:], payloads[1:], strict=True):
        for facet, value in _network_facets(payload).items():
            if value != first[facet]:
                raise WeightAverageError(f"{name} differs from {names[0]} in its {facet}: only one network averages")
    state_dict = average_state_dicts([payload["state_dict"] for payload in payloads], weights, names)
    sources = [
        {"path": name, "weight": round(weight, 6), "training": payload.get("training", {})}
        for name, weight, payload in zip(names, weights, payloads, strict=True)
    ]
    return {
        **payloads[0],
        "state_dict": state_dict,
        "metrics": {},
        "training": {"command": command, "weight_average": sources},
    }
