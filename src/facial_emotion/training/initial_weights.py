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
        raise ModelFileError(
            f"{path}: holds {source.architecture['name']} {source.architecture['kwargs']}, "
            f"but this run builds {wanted['name']} {wanted['kwargs']}"
        )
    getattr(net, "_orig_mod", net).load_state_dict(source.net.state_dict())
    return provenance(path, source)
