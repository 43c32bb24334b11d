"""Load a model file: read its dict safely, rebuild the network it names, load the weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from facial_emotion.core.model_file import ModelFile, ModelFileError, model_file_from_payload, read_model_payload
from facial_emotion.core.options import OptionError
from facial_emotion.models.registry import build_model


def load_model_file(path: Path) -> ModelFile:
    """Load a model file (`weights_only=True`, no code executed); `ModelFileError` with the reason otherwise."""
    try:
        payload = read_model_payload(path)
    except ModelFileError:
        if Path(path).suffix == ".ckpt" and Path(path).is_file():
            raise ModelFileError(checkpoint_given(Path(path))) from None
        if Path(path).is_dir() and (exported := run_model_file(path)) is not None:
            message = f"{path} is a training run's folder, not a model file: its model file is {exported}"
            raise ModelFileError(message) from None
        raise
    try:
        net = build_model(payload["architecture"]["name"], **payload["architecture"]["kwargs"])
        net.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError) as error:
        raise ModelFileError(f"{path}: the weights do not fit the recorded architecture ({error})") from None
    net.eval()
    return model_file_from_payload(payload, net)


DEFAULT_EXPORT_NAME = "my_own_model.pkl"  # configs/train.yaml's export.path; experiment=fer_mobilenetv2's differs


def checkpoint_given(path: Path) -> str:
    """Why a training checkpoint is not a model file, and where its run's model file is (it was "not a
    facial-emotion model file (no format ...)", which did not say what to give instead)."""
    run_dir = path.resolve().parent.parent
    exported = run_model_file(run_dir)
    if exported is not None:
        where = f"its run's is {exported}"
    elif (name := export_file_name(run_dir)) is not None:
        where = f"its run exports it as {run_dir / 'model' / name} when it completes"
    else:
        where = f"a run exports one as <run>/model/{DEFAULT_EXPORT_NAME}"
    return f"{path} is a training checkpoint (.ckpt), not a model file: give the model file ({where})"


def run_model_file(run_dir: Path | str) -> Path | None:
    """The model file a training run exported into `<run>/model/`: the name its options give (`export.path`:
    my_own_model.pkl, pre_trained_model.pkl for experiment=fer_mobilenetv2), else the folder's one `.pkl`; None when
    there is none (a run still training, or one that exported elsewhere)."""
    folder = Path(run_dir) / "model"
    named = folder / (export_file_name(run_dir) or DEFAULT_EXPORT_NAME)
    if named.is_file():
        return named
    files = [file for file in folder.glob("*.pkl") if file.is_file()]
    return files[0] if len(files) == 1 else None


def export_file_name(run_dir: Path | str) -> str | None:
    """The model file name a run's options give (`export.path` in `<run>/.hydra/config.yaml`, read unresolved: its
    folder is an interpolation of the run's); None without them or without a plain name there."""
    try:
        options = OmegaConf.load(Path(run_dir) / ".hydra" / "config.yaml")
        export = options.get("export") if isinstance(options, DictConfig) else None
        path = OmegaConf.to_container(export, resolve=False).get("path") if isinstance(export, DictConfig) else None
    except Exception:  # no options, or unreadable ones (not YAML, not a mapping): no name from them
        return None
    name = Path(str(path)).name if path else ""
    return name if name.endswith(".pkl") and "${" not in name else None


def model_path_option(value: Any, key: str = "model_path") -> Path:
    """A command's model-file option as a Path: `model_path=5` arrives as a number (a file named 5); null, a list
    or a group is an `OptionError` naming the option (it was a TypeError traceback)."""
    if isinstance(value, DictConfig | ListConfig | dict | list | tuple) or value is None or value == "":
        shown = OmegaConf.to_container(value) if isinstance(value, DictConfig | ListConfig) else value
        raise OptionError(f"{key} takes one model file, got {shown!r}")
    return Path(str(value))


def model_paths_option(value: Any, key: str = "model_paths") -> list[Path]:
    """A command's list of model files: one path given without brackets (`model_paths=a.pkl`) is a list of that
    one, not of its characters (each was read as a model file named 'a', '.', 'p', ...)."""
    if isinstance(value, ListConfig | list | tuple):
        if not value:
            raise OptionError(f"{key} is empty: give 'model_paths=[a.pkl,b.pkl]'")
        return [model_path_option(item, key) for item in value]
    return [model_path_option(value, key)]
