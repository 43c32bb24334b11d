"""A resume of a run that is already complete: refused before anything is built, its files left as they are.

Lightning resumes a checkpoint that already reached `trainer.max_epochs` (or that early stopping ended) without a
word: with no epoch left it goes straight to testing and exporting, so re-running a finished run's resume command
re-tested it and exported its model file again, over the file the run made and what was added to it since
(calibrate.py's temperatures and early exit, predict.py's recorded test figures), and counted a resume in its
`run_summary.json`. A run is complete when its summary says so and its checkpoint has nothing left to train at the
resume's options; a resume that raises `trainer.max_epochs` (or `trainer.max_steps`) beyond what the run trained
goes on as before. A run interrupted or failed while testing or exporting is not complete: its resume tests and
exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import DictConfig, OmegaConf

from facial_emotion.training.resume_schedule import ResumeRefusedError, saved_schedule
from facial_emotion.training.run_summary import read_run_summary


class RunCompleteError(ResumeRefusedError):
    """A resume of a run that has nothing left to train: refused like any resume that does not fit (exit 2, the run's
    folder left as it was)."""


class RunLength(L.Callback):
    """Keeps the run's `trainer.max_epochs` and `trainer.max_steps` in its checkpoints, so a resume can tell whether
    a run that early stopping ended is given more epochs than it had."""

    def __init__(self) -> None:
        self.state: dict[str, int] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.state = {"max_epochs": int(trainer.max_epochs or -1), "max_steps": int(trainer.max_steps)}

    def state_dict(self) -> dict[str, int]:
        return dict(self.state)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Nothing to restore: the resumed run's own length is what its next checkpoints record."""


def trained_epochs(checkpoint: dict[str, Any]) -> int:
    """The epochs the checkpoint finished (`last.ckpt` is written at the end of an epoch)."""
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress", {})
    epoch = int(checkpoint.get("epoch", -1))
    return epoch + 1 if progress.get("is_last_batch", True) else max(epoch, 0)


def early_stopped_after(checkpoint: dict[str, Any]) -> int | None:
    """The epochs after which early stopping ended the checkpoint's run; None when it did not."""
    for key, state in (checkpoint.get("callbacks") or {}).items():
        if str(key).startswith("EarlyStopping") and isinstance(state, dict) and state.get("stopped_epoch"):
            return int(state["stopped_epoch"]) + 1
    return None


def run_max_epochs(checkpoint: dict[str, Any]) -> int | None:
    """The `trainer.max_epochs` the checkpoint's run was given: recorded by RunLength, else (older checkpoints) the
    length of its fixed learning-rate schedule in epochs; None when neither tells."""
    recorded = (checkpoint.get("callbacks") or {}).get("RunLength") or {}
    if int(recorded.get("max_epochs", -1)) > 0:
        return int(recorded["max_epochs"])
    schedule = saved_schedule(checkpoint)
    if schedule is not None and schedule.steps_per_epoch and schedule.total_steps % schedule.steps_per_epoch == 0:
        return schedule.total_steps // schedule.steps_per_epoch
    return None


def check_not_complete(cfg: DictConfig, checkpoint: dict[str, Any], ckpt_path: str | Path) -> None:
    """RunCompleteError, in one line, when `checkpoint` resumed into `cfg.paths.output_dir` has nothing left to
    train: the run there completed (its summary says so) and the checkpoint reached this configuration's
    `trainer.max_epochs` / `max_steps`, or early stopping ended it and no more epochs than its own are given."""
    run_dir = Path(str(cfg.paths.output_dir))
    summary = read_run_summary(run_dir)
    if summary is None or summary.get("status") != "completed":
        return
    max_epochs = int(OmegaConf.select(cfg, "trainer.max_epochs", default=None) or -1)
    max_steps = int(OmegaConf.select(cfg, "trainer.max_steps", default=None) or -1)
    epochs, steps = trained_epochs(checkpoint), int(checkpoint.get("global_step", 0))
    own_max = run_max_epochs(checkpoint)
    stopped = early_stopped_after(checkpoint)
    if stopped is not None and own_max is not None and max_epochs > own_max:
        stopped = None  # more epochs than the run had: the user chose to go on
    if max_epochs > 0 and epochs >= max_epochs:
        how = f"{epochs} epoch{'s' if epochs != 1 else ''} trained, trainer.max_epochs={max_epochs}"
    elif max_steps > 0 and steps >= max_steps:
        how = f"{steps} steps trained, trainer.max_steps={max_steps}"
    elif stopped is not None:
        of = f" of {own_max}" if own_max is not None else ""
        how = f"early stopping ended it after epoch {stopped}{of}"
    else:
        return
    model_file = OmegaConf.select(cfg, "export.path", default=None)
    go_on = (
        f"; to train on from its weights, start a new run with +init_from={model_file}"
        if model_file and Path(str(model_file)).is_file()
        else ""
    )
    raise RunCompleteError(
        f"ckpt_path={ckpt_path}: the run in {run_dir} is already complete ({how}): nothing to resume, its files "
        f"are left as they are (a resume would test it and export its model file again){go_on}"
    )
