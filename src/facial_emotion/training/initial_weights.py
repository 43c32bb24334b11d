"""Start a run from the weights of an earlier run's model file (a second training stage, e.g. fine-tuning)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from facial_emotion.core.model_file import ModelFileError, provenance
from facial_emotion.models.channel_pruning import prune_into
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.registry import architecture_of


def load_initial_weights(net: nn.Module, path: Path | str, pruned: bool = False) -> dict[str, Any]:
    """Copy the weights of the model file at `path` into `net`; return what the file records of its training.

    The file must hold the same architecture (name and constructor arguments) as `net`, so a stage can only
    continue the network it was given, never silently start from a partly matching one. With `pruned`, the
    file may hold a wider VGG of the same depth instead: `net` gets its most important channels
    (models/channel_pruning.py), the start of a compact student.
    """
    source = load_model_file(Path(path))
    wanted = architecture_of(net)
    if pruned:
        if source.architecture["name"] != "vgg" or wanted["name"] != "vgg":
            raise ModelFileError(f"{path}: pruning needs a VGG file and a VGG run, not {source.architecture['name']}")
        prune_into(getattr(net, "_orig_mod", net), source.net)
        return {**provenance(path, source), "pruned_from": source.architecture["kwargs"]["widths"]}
    if source.architecture != wanted:
        raise ModelFileError(f"{path}: {architecture_difference(source.architecture, wanted)}")
    getattr(net, "_orig_mod", net).load_state_dict(source.net.state_dict())
    return provenance(path, source)


def architecture_difference(theirs: dict[str, Any], ours: dict[str, Any]) -> str:
    """Why a model file's network is not this run's, by option: `model.net.widths [8, 32] here, [8, 16] in the file`
    and the overrides that build the file's (the two whole argument lists were hard to compare by eye)."""
    if theirs["name"] != ours["name"]:
        return (
            f"holds {theirs['name']} {theirs['kwargs']}, but this run builds {ours['name']} {ours['kwargs']}: choose "
            "the model that file was trained as"
        )
    keys = sorted(theirs["kwargs"].keys() | ours["kwargs"].keys())
    differing = [k for k in keys if theirs["kwargs"].get(k) != ours["kwargs"].get(k)]
    shown = "; ".join(
        f"model.net.{k} {_plain(ours['kwargs'].get(k))} here, {_plain(theirs['kwargs'].get(k))} in the file"
        for k in differing
    )
    fix = " ".join(f"model.net.{k}={_plain(theirs['kwargs'].get(k))}" for k in differing)
    return f"holds {theirs['name']}, but this run builds it with other options ({shown}): give {fix}"


def _plain(value: Any) -> str:
    """An option value as written on the command line: [8,16], 0.3, true."""
    if isinstance(value, list | tuple):
        return "[" + ",".join(_plain(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
