"""The model file: a plain dict of tensors and config that loads with `torch.load(weights_only=True)`.

Keys: format, architecture {name, kwargs}, state_dict, class_names, preprocessing, temperature (for the
file's own test-time augmentation), temperatures (one per test-time augmentation: averaging ten crops makes
a model less confident than one crop does, so each needs its own), metrics, training, and crop_geometry
(where a face sits in the input; files from before it was recorded get the box cropper). Reading never
executes code; `facial_emotion.models.loading.load_model_file` rebuilds the network from the registry by name.
"""

from __future__ import annotations

import errno
import pickletools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.labels import EMOTIONS
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.core.whole_files import write_whole

FORMAT = "facial-emotion-model/1"
SHIPPED_MODEL_STEM = "my_own_model"


class ModelFileError(ValueError):
    """The file is missing, unreadable, or not a model file of this project."""


@dataclass
class ModelFile:
    """Everything a model file holds, with the network rebuilt."""

    net: nn.Module
    architecture: dict[str, Any]
    preprocessing: Preprocessing
    class_names: list[str] = field(default_factory=lambda: list(EMOTIONS))
    temperature: float = 1.0
    metrics: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    temperatures: dict[str, float] = field(default_factory=dict)
    crop_geometry: CropGeometry = field(default_factory=CropGeometry)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def temperature_for(self, tta: str) -> float:
        """The temperature fitted for test-time augmentation `tta` (files from before per-mode fitting: the one)."""
        return self.temperatures.get(tta, self.temperature)


def provenance(path: Path | str, model: ModelFile) -> dict[str, Any]:
    """What a run records of a model file it builds on (a start point, a teacher): path, command, seed."""
    return {"path": str(path), "command": model.training.get("command"), "seed": model.training.get("seed")}


def save_model_file(path: Path, model: ModelFile) -> None:
    """Write `model` to `path` as a plain dict (fp32 tensors on CPU)."""
    net = getattr(model.net, "_orig_mod", model.net)
    write_model_payload(
        path,
        {
            "format": FORMAT,
            "architecture": model.architecture,
            "state_dict": {
                k: v.detach().float().cpu().contiguous() if v.is_floating_point() else v.detach().cpu()
                for k, v in net.state_dict().items()
            },
            "class_names": list(model.class_names),
            "preprocessing": model.preprocessing.to_dict(),
            "temperature": float(model.temperature),
            "temperatures": {k: float(v) for k, v in model.temperatures.items()},
            "metrics": {k: float(v) for k, v in model.metrics.items()},
            "training": model.training,
            "crop_geometry": model.crop_geometry.to_dict(),
        },
    )


def write_model_payload(path: Path, payload: dict[str, Any]) -> None:
    """Write a model file's dict atomically (a crash never leaves half a file under `path`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, lambda tmp: torch.save(payload, tmp))


def read_model_payload(path: Path) -> dict[str, Any]:
    """The dict of a model file, loaded safely (`weights_only=True`); `ModelFileError` with the reason otherwise."""
    path = Path(path)
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.pkl"))[:4]
        hint = f" (it holds {', '.join(inside)})" if inside else " (it holds no .pkl file)"
        raise ModelFileError(f"{path} is a folder, not a model file{hint}")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types for foreign files; all mean the same here
        raise ModelFileError(
            _foreign_file(path) or f"{path} is not a loadable model file ({_load_failure(error)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a facial-emotion model file (no format {FORMAT!r})")
    missing = [key for key in _REQUIRED_KEYS if key not in payload]
    if missing:
        raise ModelFileError(f"{path} is an incomplete model file (no {', '.join(missing)})")
    return payload


_REQUIRED_KEYS = ("architecture", "state_dict", "class_names", "preprocessing")


# Files given as a model file by mistake, told by their first bytes (a pickle or a zip archive is never one of these).
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1a\x45\xdf\xa3", "a Matroska/WebM video"),
)


def _foreign_file(path: Path) -> str | None:
    """What a file torch.load refused is, where its name or first bytes tell (an ONNX graph, an image, a video, text):
    the whole message; None for a pickle or zip archive (the safe-loading refusal stands) or anything else."""
    try:
        with open(path, "rb") as file:
            head = file.read(4096)
    except OSError:
        return None
    if not head:
        return f"{path} is empty, not a model file"
    if head.startswith((b"\x80", b"PK\x03\x04")) or _pickle(head):  # torch's own formats; protocol 0 ones: text
        return None
    if path.suffix.lower() == ".onnx":
        return f"{path} is an ONNX graph, not a model file: give the .pkl it was built from"
    kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    if kind is None and head[4:8] == b"ftyp":
        kind = "an MP4/MOV video"
    if kind is None and head[:4] == b"RIFF":
        kind = {b"WEBP": "a WebP image", b"AVI ": "an AVI video", b"WAVE": "a WAV sound"}.get(head[8:12])
    if kind is None and b"\x00" not in head:
        try:
            head.decode("utf-8")
            kind = "text"
        except UnicodeDecodeError as error:
            kind = "text" if error.start >= len(head) - 3 else None  # cut inside a character at 4096 bytes
    return f"{path} is not a model file ({kind})" if kind else None


def _pickle(head: bytes) -> bool:
    """Whether `head` reads as a whole pickle up to its STOP (parsed, never loaded)."""
    try:
        return any(opcode.name == "STOP" for opcode, _, _ in pickletools.genops(head))
    except Exception:  # not a pickle: genops raises on the first byte that is no opcode
        return False


def _load_failure(error: Exception) -> str:
    """Why torch.load refused a file, in one line; never PyTorch's advice to load it unsafely instead."""
    text = str(error).strip()
    if "Weights only load failed" in text:
        return "not tensors and settings alone: loading it would mean running code from the file, which is never done"
    if isinstance(error, KeyError | EOFError) or not text:  # a text file, a truncated file
        return f"not a PyTorch file, or a truncated one ({type(error).__name__})"
    if "PytorchStreamReader failed" in text or (isinstance(error, OSError) and error.errno == errno.EINVAL):
        # a cut-off copy or download: PyTorch's own paragraph says only that the zip archive is damaged
        return "truncated or damaged: not a whole zip archive, as a copy or download cut short leaves"
    return text.splitlines()[0]


def model_file_from_payload(payload: dict[str, Any], net: nn.Module) -> ModelFile:
    """The `ModelFile` of a payload around its already rebuilt network."""
    return ModelFile(
        net=net,
        architecture=payload["architecture"],
        preprocessing=Preprocessing(**payload["preprocessing"]),
        class_names=list(payload["class_names"]),
        temperature=float(payload.get("temperature", 1.0)),
        temperatures={k: float(v) for k, v in payload.get("temperatures", {}).items()},
        metrics=dict(payload.get("metrics", {})),
        training=dict(payload.get("training", {})),
        crop_geometry=CropGeometry.from_dict(payload.get("crop_geometry", {})),
    )


def update_model_metrics(path: Path, metrics: dict[str, float]) -> None:
    """Add or replace metrics recorded in an existing model file (e.g. the test figures)."""
    payload = read_model_payload(path)
    payload["metrics"] = {**payload.get("metrics", {}), **{k: float(v) for k, v in metrics.items()}}
    write_model_payload(path, payload)


SHIPPED_MODEL_DIR = Path("results", "model")  # where the shipped model files live, under the project root
# The shipped files' stems: a copy elsewhere, or a run's own file of the same name (training writes
# <run>/model/my_own_model.pkl or pre_trained_model.pkl), must not take their outputs' names.
SHIPPED_MODEL_STEMS = ("my_own_model", "my_own_model_real_faces", "pre_trained_model")


def model_label(model_path: Path | str, project_root: Path) -> str:
    """The name a model file's outputs carry (plots, reports, table rows, attack folders).

    A file in the shipped folder (`<project_root>/results/model/`, the wheel's bundle when installed): its stem. A
    file elsewhere whose stem is a shipped file's: the stem after its run folder's name for a run's file
    (`<run>/model/my_own_model.pkl` -> `2026-12-08_02-43-55_my_own_model`; a multirun job's number after its
    sweep's name), else after its folder's name (`backups/my_own_model.pkl` -> `backups_my_own_model`). Any other
    file: its stem. So no file but a shipped one is ever named as one, and its outputs never replace theirs.
    """
    path = Path(model_path).expanduser().absolute()
    shipped_dir = Path(project_root).expanduser().absolute() / SHIPPED_MODEL_DIR
    stem = path.stem
    if in_shipped_folder(path, project_root):
        return stem
    if stem not in SHIPPED_MODEL_STEMS and not (shipped_dir / f"{stem}.pkl").is_file():
        return stem
    folder = path.parent
    if folder.name == "model" and folder.parent.name:  # a training run's layout: <run>/model/<file>
        folder = folder.parent
    where = folder.name or "root"
    if where.isdigit() and folder.parent.name:  # <sweep>/<job number>/model/<file>: the number alone says little
        where = f"{folder.parent.name}_{where}"
    return f"{where}_{stem}"


def in_shipped_folder(model_path: Path | str, project_root: Path) -> bool:
    """Whether the file lies in `<project_root>/results/model/` (links and `..` resolved)."""
    folder = Path(model_path).expanduser().absolute().parent
    try:
        return folder.resolve() == (Path(project_root).expanduser().absolute() / SHIPPED_MODEL_DIR).resolve()
    except OSError:  # a loop of links: not the shipped folder
        return False


def is_shipped_model(model_path: Path | str, project_root: Path) -> bool:
    """Whether the file is one of the shipped model files at its shipped place."""
    return in_shipped_folder(model_path, project_root) and Path(model_path).stem in SHIPPED_MODEL_STEMS


def output_tag(model_path: Path | str, project_root: Path) -> str:
    """'' for the shipped model (`results/model/my_own_model.pkl`), else `model_label`: its plots and reports keep
    their plain names, and evaluating or attacking another model file, a run's `my_own_model.pkl` included, never
    overwrites the shipped model's results."""
    label = model_label(model_path, project_root)  # bare "my_own_model" only for the shipped file itself
    return "" if label == SHIPPED_MODEL_STEM else label
