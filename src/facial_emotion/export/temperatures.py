"""Fit a model file's softmax temperatures on held-out faces, one per test-time augmentation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from facial_emotion.core.calibration import expected_calibration_error, fit_temperature, mean_view_probabilities
from facial_emotion.core.early_exit import EarlyExitChoice, choose_early_exit, with_early_exit
from facial_emotion.core.model_file import ModelFile
from facial_emotion.core.preprocessing import ALL_VIEWS, TTA_MODES, views_within_all
from facial_emotion.inference.predictor import EmotionPredictor


def uncalibrated_view_logits(
    model_path: Path, images: np.ndarray, backend: str = "torch", progress: str | None = None
) -> dict[str, torch.Tensor]:
    """For each test-time augmentation: (N, views, classes) logits of the model file at `model_path`.

    One pass over the 20 multi-scale ten-crop views; every other mode takes its views from them. `progress`: the
    label of a tqdm bar on stderr over the faces (the pass takes minutes on a CPU: 2871 validation faces, 4-7 min).
    """
    faces = torch.from_numpy(images)
    predictor = EmotionPredictor(model_path, tta=ALL_VIEWS, temperature=1.0, backend=backend)
    step = predictor.batch_size  # the predictor's CPU-friendly number of views per forward
    batches = []
    bar = tqdm(total=len(faces), unit="face", desc=progress, file=sys.stderr, dynamic_ncols=True, disable=not progress)
    with torch.inference_mode(), bar:
        for start in range(0, len(faces), step):
            batches.append(predictor.view_logits(faces[start : start + step]))
            bar.update(len(batches[-1]))
    every_view = torch.cat(batches)
    return {tta: every_view[:, views_within_all(tta)] for tta in TTA_MODES}


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


def record_early_exit(model: ModelFile, every_view: torch.Tensor, labels: np.ndarray) -> EarlyExitChoice:
    """Choose the early exit of `model`'s default views on held-out faces (their 20 view logits) at its recorded
    temperatures, and record it and its exit temperatures in `model.preprocessing` (none if nothing is cheaper).
    Its first stage is the file's live view: the one view chosen for real faces is the one sure faces stop at."""
    prep = model.preprocessing
    choice = choose_early_exit(
        every_view, torch.from_numpy(labels), prep.tta, model.temperature_for, first_stages=(prep.live_view,)
    )
    model.preprocessing = with_early_exit(model.preprocessing, choice.stages, choice.exit_temperatures)
    return choice
