"""Export a trained network to a model file: fit the temperature on validation, write the summary text."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from facial_emotion.core.calibration import bound_warnings
from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.model_file import ModelFile, save_model_file
from facial_emotion.core.preprocessing import ALL_VIEWS, Preprocessing
from facial_emotion.export.temperatures import fit_temperatures, record_early_exit, uncalibrated_view_logits
from facial_emotion.models.registry import architecture_of

log = logging.getLogger(__name__)


# The temperatures are fitted with ONNX Runtime fp32: on every CPU kind measured it is about as fast as PyTorch's
# best precision or faster, and its probabilities are within 1e-4 of PyTorch fp32's (checked when the graph is
# built), so the temperatures are those of the network itself, not of a bf16 rounding of it.
FITTING_BACKEND = "onnxruntime"


def export_model(
    net: nn.Module,
    preprocessing: Preprocessing,
    output_path: Path,
    val_images: np.ndarray | None = None,
    val_labels: np.ndarray | None = None,
    metrics: dict[str, float] | None = None,
    training: dict[str, Any] | None = None,
    crop_geometry: CropGeometry | None = None,
) -> ModelFile:
    """Write `net` as a model file; with validation data, fit and record the softmax temperatures and choose the
    early exit through its views (`core.early_exit`)."""
    net = getattr(net, "_orig_mod", net)
    model = ModelFile(
        net=net,
        architecture=architecture_of(net),
        preprocessing=preprocessing,
        metrics=dict(metrics or {}),
        training=dict(training or {}),
        crop_geometry=crop_geometry or CropGeometry(),
    )
    if val_images is None or val_labels is None or not len(val_labels):
        save_model_file(output_path, model)
        return model
    # The predictor reads a file; fitting on a side copy means `output_path` only ever holds the final model. The copy
    # lies in a private temporary folder, where the ONNX graph it is fitted with is cached too (`.cache/` beside the
    # file): both go with it. Beside `output_path` that graph was left in `<run>/model/.cache/`, among the files users
    # copy, and never read again (named after the side copy; a re-export of the same network saved ~0.8 s of 11).
    with tempfile.TemporaryDirectory(prefix="fer-export-") as side:
        unfitted_path = Path(side) / Path(output_path).name
        save_model_file(unfitted_path, model)
        view_logits = uncalibrated_view_logits(unfitted_path, val_images, FITTING_BACKEND)
    model.temperatures = fit_temperatures(view_logits, val_labels)
    model.temperature = model.temperatures[preprocessing.tta]
    log.info("fitted temperatures %s on %d validation images", model.temperatures, len(val_labels))
    for warning in bound_warnings(model.temperatures, prefix="", ece=""):  # as calibrate.py warns
        log.warning("export: %s", warning)
    choice = record_early_exit(model, view_logits[ALL_VIEWS], val_labels)
    log.info("early exit %r: %.2f views per face", model.preprocessing.early_exit, choice.views_per_face)
    save_model_file(output_path, model)
    return model


def architecture_text(model: ModelFile, notes: str = "") -> str:
    """Human-readable summary: architecture, parameter counts per block, preprocessing, training record."""
    lines = [
        f"Architecture: {model.architecture['name']} {model.architecture['kwargs']}",
        f"Parameters: {model.num_parameters():,}",
        "",
        "Parameters per top-level block:",
    ]
    for name, child in model.net.named_children():
        lines.append(f"  {name:<12} {sum(p.numel() for p in child.parameters()):>12,}")
    lines += [
        "",
        "Layers:",
        repr(model.net),
        "",
        f"Preprocessing: {model.preprocessing.to_dict()}",
        f"Crop geometry (real faces): {model.crop_geometry}",
        f"Softmax temperature (fitted on validation): {model.temperature:.3f}"
        + "".join(f", {tta} {t:.3f}" for tta, t in model.temperatures.items()),
        "",
        "Metrics:",
    ]
    lines += [f"  {key}: {value:.4f}" for key, value in sorted(model.metrics.items())]
    lines += ["", "Training:"]
    lines += [f"  {key}: {value}" for key, value in model.training.items()]
    if notes:
        lines += ["", notes.rstrip()]
    return "\n".join(lines) + "\n"
