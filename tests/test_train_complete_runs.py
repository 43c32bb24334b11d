"""A resume of a run that is already complete is refused and leaves the run as it was; more epochs than the run had
resume as before."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import open_dict

from facial_emotion.core.model_file import update_model_metrics
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks.train import train
from facial_emotion.training.resume_schedule import ResumeRefusedError
from facial_emotion.training.run_completion import RunCompleteError
from facial_emotion.training.run_summary import REFUSAL_ERRORS, read_run_summary
from tests.conftest import compose_train_config

# Early stopping that ends a run after its second epoch: nothing improves by 10.
STOPS_AFTER_TWO = ["callbacks.early_stopping.patience=1", "+callbacks.early_stopping.min_delta=10"]


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def _resume(cfg, **changes):
    """`cfg` resuming its own run's last.ckpt in its folder (the command the resume line gives), with `changes`."""
    with open_dict(cfg):
        cfg.ckpt_path = str(Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt")
        for key, value in changes.items():
            cfg.trainer[key] = value
    return cfg


def test_resuming_a_finished_run_is_refused_and_keeps_its_calibrated_model_file(tmp_path: Path, fer_dir: Path) -> None:
    """It tested and exported the run again: the model file lost what calibrate.py and predict.py had recorded in
    it (its metrics were {}), and run_summary.json counted a resume."""
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.limit_test_batches=1"])
    train(cfg)
    model_path, run_dir = Path(cfg.export.path), Path(cfg.paths.output_dir)
    update_model_metrics(model_path, {"test/acc": 0.5, "test/acc_public": 0.5})  # as predict.py record_metrics=true
    before = _files(run_dir)
    with pytest.raises(RunCompleteError) as refused:
        train(_resume(cfg))
    last = Path(cfg.ckpt_path)
    assert str(refused.value) == (
        f"ckpt_path={last}: the run in {run_dir} is already complete (1 epoch trained, trainer.max_epochs=1): "
        "nothing to resume, its files are left as they are (a resume would test it and export its model file "
        f"again); to train on from its weights, start a new run with +init_from={model_path}"
    )
    assert isinstance(refused.value, ResumeRefusedError) and isinstance(refused.value, REFUSAL_ERRORS)  # exit 2
    assert _files(run_dir) == before, "the refused resume changed the run's files"
    assert load_model_file(model_path).metrics["test/acc"] == 0.5
    assert read_run_summary(run_dir)["resumes"] == 0


def test_an_early_stopped_run_is_complete_unless_given_more_epochs_than_it_had(tmp_path: Path, fer_dir: Path) -> None:
    """Early stopping ended it after 2 of 4 epochs: its resume trained one more epoch and exported again. A resume
    given a higher trainer.max_epochs than the run had goes on (a schedule-free run: one-cycle refuses another
    length)."""
    options = ["trainer.max_epochs=4", "test=false", "model.scheduler=null", *STOPS_AFTER_TWO]
    cfg = compose_train_config(tmp_path, fer_dir, options)
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    assert read_run_summary(run_dir)["stopped_early_after_epoch"] == 2
    before = _files(run_dir)
    with pytest.raises(RunCompleteError, match=r"is already complete \(early stopping ended it after epoch 2 of 4\)"):
        train(_resume(cfg))
    assert _files(run_dir) == before
    # Fewer epochs than it trained: complete as well.
    with pytest.raises(RunCompleteError, match=r"is already complete \(2 epochs trained, trainer.max_epochs=1\)"):
        train(_resume(cfg, max_epochs=1))
    assert _files(run_dir) == before
    # More epochs than the run had: resumed as before.
    train(_resume(cfg, max_epochs=5))
    summary = read_run_summary(run_dir)
    assert summary["status"] == "completed" and summary["resumes"] == 1 and summary["epochs_completed"] == 3
    last = torch.load(Path(cfg.ckpt_path), weights_only=True)
    assert last["callbacks"]["RunLength"] == {"max_epochs": 5, "max_steps": -1}


def test_a_finished_run_given_more_epochs_resumes(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["test=false", "model.scheduler=null"])
    train(cfg)
    train(_resume(cfg, max_epochs=2))
    summary = read_run_summary(Path(cfg.paths.output_dir))
    assert summary["resumes"] == 1 and summary["epochs_completed"] == 2
