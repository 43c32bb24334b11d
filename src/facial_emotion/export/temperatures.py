"""Fit a model file's softmax temperatures on held-out faces, one per test-time augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from facial_emotion.core.calibration import expected_calibration_error, fit_temperature, mean_view_probabilities
from facial_emotion.core.preprocessing import TTA_MODES
from facial_emotion.inference.predictor import EmotionPredictor


def uncalibrated_view_logits(model_path: Path, images: np.ndarray, backend: str = "torch") -> dict[str, torch.Tensor]:
    """For each test-time augmentation: (N, views, classes) logits of the model file at `model_path`."""
    faces = torch.from_numpy(images)
    logits = {}
    for tta in TTA_MODES:
        predictor = EmotionPredictor(model_path, tta=tta, temperature=1.0, backend=backend)
        step = predictor.batch_size  # the predictor's CPU-friendly number of views per forward
        with torch.inference_mode():
            logits[tta] = torch.cat([predictor.view_logits(faces[i : i + step]) for i in range(0, len(faces), step)])
    return logits


def fit_temperatures(view_logits: dict[str, torch.Tensor], labels: np.ndarray) -> dict[str, float]:
    """The NLL-minimising temperature of each test-time augmentation's view logits."""
    return {tta: fit_temperature(logits, torch.from_numpy(labels)) for tta, logits in view_logits.items()}


def calibration_errors(
    view_logits: dict[str, torch.Tensor], labels: np.ndarray, temperatures: dict[str, float]
) -> dict[str, float]:
    """ECE (15 bins) of each test-time augmentation at its temperature."""
    return {
        tta: expected_calibration_error(mean_view_probabilities(logits, temperatures[tta]).numpy(), labels)
        for tta, logits in view_logits.items()
    }


def view_accuracies(
    view_logits: dict[str, torch.Tensor], labels: np.ndarray, temperatures: dict[str, float]
) -> dict[str, float]:
    """Accuracy of each test-time augmentation's averaged probabilities at its temperature."""
    return {
        tta: float((mean_view_probabilities(logits, temperatures[tta]).argmax(-1).numpy() == labels).mean())
        for tta, logits in view_logits.items()
    }
