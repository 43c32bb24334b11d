"""Refuse a resume whose learning-rate schedule no longer fits its checkpoint, before a single step is trained.

A schedule of a fixed length (OneCycleLR's `total_steps`, and warm-up cosine's, recorded on it) is restored from
the checkpoint as the run built it, so a resume with another `trainer.max_epochs` (batch size,
`limit_train_batches`, ...) would fail epochs later, inside Lightning, when the one-cycle schedule runs past its end
("Tried to step X times"), or stop before the schedule ends; the cosine one would jump to another curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L

from facial_emotion.core.model_file import ModelFileError


def run_options_file(ckpt_path: str | Path) -> Path:
    """The Hydra overrides of the run a checkpoint in `<run>/checkpoints/` belongs to."""
    return Path(str(ckpt_path)).resolve().parent.parent / ".hydra" / "overrides.yaml"


@dataclass(frozen=True)
class SavedSchedule:
    """A checkpoint's fixed-length schedule: its steps, and the optimizer steps per epoch (None: not known)."""

    total_steps: int
    steps_per_epoch: int | None


def saved_schedule(checkpoint: dict[str, Any]) -> SavedSchedule | None:
    """The checkpoint's first learning-rate schedule, when it has a fixed length; None otherwise."""
    schedulers = checkpoint.get("lr_schedulers") or [{}]
    total = schedulers[0].get("total_steps") if isinstance(schedulers[0], dict) else None
    if total is None:
        return None
    return SavedSchedule(int(total), _steps_per_epoch(checkpoint))


def _steps_per_epoch(checkpoint: dict[str, Any]) -> int | None:
    """Optimizer steps per epoch, known when the checkpoint was written at the end of an epoch (as last.ckpt is)."""
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress", {})
    epochs, steps = int(checkpoint.get("epoch", -1)) + 1, int(checkpoint.get("global_step", 0))
    if not progress.get("is_last_batch") or epochs < 1 or steps % epochs:
        return None
    return steps // epochs


class ResumedScheduleCheck(L.Callback):
    """At fit start (schedulers built, the checkpoint's not yet restored), ModelFileError in one line when this
    configuration's schedule has another length, or its epochs another number of steps, than the checkpoint's."""

    def __init__(self, ckpt_path: str, saved: SavedSchedule) -> None:
        self.ckpt_path = ckpt_path
        self.saved = saved

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        configs = trainer.lr_scheduler_configs
        built = getattr(configs[0].scheduler, "total_steps", None) if configs else None
        if built is None:
            return
        batches = trainer.num_training_batches
        per_epoch = math.ceil(batches / trainer.accumulate_grad_batches) if math.isfinite(batches) else None
        if self.saved.steps_per_epoch not in (None, per_epoch):
            raise ModelFileError(
                f"ckpt_path={self.ckpt_path}: its run took {self.saved.steps_per_epoch} steps an epoch, this "
                f"configuration {per_epoch}, and its learning-rate schedule cannot follow: resume with the run's own "
                f"data.batch_size, trainer.limit_train_batches and accumulate_grad_batches ({self._options()})"
            )
        if int(built) != self.saved.total_steps:
            raise ModelFileError(self._length_message(trainer, int(built), per_epoch))

    def _length_message(self, trainer: L.Trainer, built: int, per_epoch: int | None) -> str:
        head = (
            f"ckpt_path={self.ckpt_path}: its learning-rate schedule spans {self.saved.total_steps} steps, this "
            f"configuration's {built} (trainer.max_epochs={trainer.max_epochs})"
        )
        if trainer.max_steps == -1 and per_epoch and self.saved.total_steps % per_epoch == 0:
            return f"{head}: resume with the run's own trainer.max_epochs={self.saved.total_steps // per_epoch}"
        return f"{head}: resume with the run's own trainer options ({self._options()})"

    def _options(self) -> Path:
        return run_options_file(self.ckpt_path)
