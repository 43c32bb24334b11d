"""Start a run from the weights of an earlier run's model file (a second training stage, e.g. fine-tuning)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import get_class
from omegaconf import OmegaConf
from torch import nn

from facial_emotion.core.model_file import ModelFileError, provenance
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.models.channel_pruning import prune_into
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.registry import architecture_of

MODEL_CONFIGS = PROJECT_ROOT / "configs" / "model"  # the model= choices of scripts/train.py


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
        choice = model_choice(theirs)
        return (
            f"holds {theirs['name']} {theirs['kwargs']}, but this run builds {ours['name']} {ours['kwargs']}: choose "
            f"the model that file was trained as{f' ({choice})' if choice else ''}"
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


def model_choice(architecture: dict[str, Any], config_dir: Path = MODEL_CONFIGS) -> str | None:
    """The `model=` choice (configs/model/) that builds `architecture`, with the `model.net.*` options it needs
    beside (`model=timm_mobilenetv2 model.net.input_size=64`); None when no model config builds that network."""
    best: tuple[int, str] | None = None
    for path in sorted(config_dir.glob("*.yaml")):
        net = _model_config(path, config_dir).get("net")
        if not isinstance(net, dict) or _registry_name(net.get("_target_")) != architecture["name"]:
            continue
        kwargs = architecture["kwargs"]
        differing = [k for k in sorted(kwargs) if _plain(net.get(k, kwargs[k])) != _plain(kwargs[k])]
        if "model_name" in differing:  # another timm network: that config is not this file's
            continue
        fix = " ".join([f"model={path.stem}", *(f"model.net.{k}={_plain(kwargs[k])}" for k in differing)])
        if best is None or len(differing) < best[0]:
            best = (len(differing), fix)
    return best[1] if best else None


def _model_config(path: Path, config_dir: Path) -> dict[str, Any]:
    """A configs/model/ file as a plain dict, merged over the model configs its `defaults` name (vgg_large over
    vgg_small); {} for one that cannot be read."""
    try:
        own = OmegaConf.load(path)
        bases = [d for d in own.pop("defaults", []) if isinstance(d, str) and d != "_self_"]
        merged = OmegaConf.merge(*(_model_config(config_dir / f"{b}.yaml", config_dir) for b in bases), own)
        config = OmegaConf.to_container(merged, resolve=False)
    except Exception:  # not YAML, not a mapping, a missing base: not a choice to name
        return {}
    return config if isinstance(config, dict) else {}


def _registry_name(target: Any) -> str | None:
    """The registry name of the network class a config's `_target_` names (None: not a registered network)."""
    try:
        return getattr(get_class(str(target)), "registry_name", None)
    except Exception:  # a target that does not import
        return None
