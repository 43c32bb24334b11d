"""Smoke and debug runs export without the minutes-long temperature fit, and say so; full runs still fit."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config


@pytest.mark.parametrize("override", ["trainer.fast_dev_run=true", "trainer.limit_val_batches=1"])
def test_smoke_run_exports_without_fitting_temperatures_and_says_so(
    tmp_path: Path, fer_dir: Path, override: str, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, [override])
    with caplog.at_level(logging.WARNING):
        train(cfg)
    model = load_model_file(Path(cfg.export.path))
    assert model.temperatures == {} and model.temperature == 1.0
    lines = [r.getMessage() for r in caplog.records if "temperatures not fitted" in r.getMessage()]
    assert len(lines) == 1 and "scripts/calibrate.py" in lines[0]
