"""What a run says about itself: the precision it runs and why, and when early stopping ended it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from facial_emotion.core.hardware import auto_precision, precision_reason
from facial_emotion.tasks.train import train
from facial_emotion.training.run_summary import read_run_summary
from tests.conftest import compose_train_config


def test_early_stopping_says_when_and_why_it_stopped(
    tmp_path: Path, fer_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run of 10 epochs that ended after 3 said nothing: Lightning's EarlyStopping is quiet, the summary said
    'completed'."""
    # min_delta 1: no epoch after the first can improve on it, so patience 2 ends the run after epoch 3
    options = [
        "trainer.max_epochs=10",
        "callbacks.early_stopping.patience=2",
        "+callbacks.early_stopping.min_delta=1.0",
        "test=false",
    ]
    cfg = compose_train_config(tmp_path, fer_dir, options)
    with caplog.at_level(logging.INFO, logger="facial_emotion.tasks.train"):
        train(cfg)
    assert "early stopping: val/acc has not improved for 2 epochs (callbacks.early_stopping.patience), best " in (
        caplog.text
    )
    assert "stopped after epoch 3 of 10" in caplog.text
    summary = read_run_summary(Path(cfg.paths.output_dir))
    assert summary["status"] == "completed" and summary["stopped_early_after_epoch"] == summary["epochs_completed"] == 3

    caplog.clear()
    whole = compose_train_config(tmp_path / "whole", fer_dir, ["trainer.max_epochs=2", "test=false"])
    with caplog.at_level(logging.INFO, logger="facial_emotion.tasks.train"):
        train(whole)
    assert "early stopping:" not in caplog.text
    assert "stopped_early_after_epoch" not in read_run_summary(Path(whole.paths.output_dir))


def test_the_precision_line_says_when_trainer_precision_overrides_the_cpus_choice(
    tmp_path: Path, fer_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On an AMX or AMD AVX512-BF16 CPU, trainer.precision=32-true logged 'precision 32-true: the CPU ... bf16-mixed
    measured ~2.2x faster than fp32 there', as if the CPU had chosen fp32 for that reason."""
    automatic = auto_precision("cpu")
    other = "bf16-mixed" if automatic == "32-true" else "32-true"
    for precision in (automatic, other):
        cfg = compose_train_config(tmp_path / precision, fer_dir, [f"trainer.precision={precision}", "test=false"])
        with caplog.at_level(logging.INFO, logger="facial_emotion.tasks.train"):
            caplog.clear()
            cfg.trainer.fast_dev_run = True
            train(cfg)
        line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("precision "))
        if precision == automatic:
            assert line == precision_reason(automatic), line
        else:
            assert line.startswith(f"precision {other}, given by trainer.precision (the CPU's choice is {automatic}: ")


def test_a_run_without_a_logger_trains(tmp_path: Path, fer_dir: Path) -> None:
    """logger=none (configs/logger/none.yaml) was Lightning's traceback: the LearningRateMonitor needs a logger."""
    cfg = compose_train_config(tmp_path, fer_dir, ["logger=none", "test=false"])
    assert "val/acc" in train(cfg)
    assert Path(cfg.export.path).is_file()
