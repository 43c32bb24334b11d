"""What scripts/calibrate.py does: refit a model file's temperatures on the validation split; one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.export.model_file import ModelFileError, load_model_file, save_model_file
from facial_emotion.export.temperatures import calibration_errors, fit_temperatures, uncalibrated_view_logits


def run_calibration(cfg: DictConfig) -> int:
    """Fit, report and record the temperatures of `cfg.model_path`; return the process exit code."""
    path = Path(cfg.model_path)
    try:
        model = load_model_file(path)
        datamodule = instantiate(cfg.data)
        datamodule.setup("fit")
        images, labels = datamodule.val_set.images.squeeze(1).numpy(), datamodule.val_set.labels.numpy()
        view_logits = uncalibrated_view_logits(path, images)
    except (ModelFileError, FERDataError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    recorded = {tta: model.temperature_for(tta) for tta in view_logits}
    before = calibration_errors(view_logits, labels, recorded)
    model.temperatures = fit_temperatures(view_logits, labels)
    after = calibration_errors(view_logits, labels, model.temperatures)
    model.temperature = model.temperatures[model.preprocessing.tta]
    print(f"Validation split: {len(labels)} faces. ECE (15 bins) per test-time augmentation:")
    for tta in view_logits:
        print(
            f"  {tta:<9} T {recorded[tta]:.3f} -> {model.temperatures[tta]:.3f}"
            f"   ECE {100 * before[tta]:.2f}% -> {100 * after[tta]:.2f}%"
        )
    save_model_file(path, model)
    print(f"Wrote the temperatures into {path}")
    return 0
