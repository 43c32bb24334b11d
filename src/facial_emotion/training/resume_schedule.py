"""Refuse a resume whose learning-rate schedule no longer fits its checkpoint, before a single step is trained.

A schedule of a fixed length (OneCycleLR's `total_steps`, and warm-up cosine's, recorded on it) is restored from
the checkpoint as the run built it, so a resume with another `trainer.max_epochs` (batch size,
`limit_train_batches`, ...) would fail epochs later, inside Lightning, when the one-cycle schedule runs past its end
("Tried to step X times"), or stop before the schedule ends; the cosine one would jump to another curve.

The rest of the schedule is restored too (one-cycle's `max_lr`, `pct_start`, `div_factor`, ... live in the
checkpoint's optimizer and scheduler states; warm-up cosine's base learning rate), so a resume that gives other
values would silently run the checkpoint's: it is refused as well, naming each option with both values.
A refused resume leaves the run folder's `run_summary.json` as it was (`ResumeRefusedError`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.training.schedules import WARMUP_COSINE_OPTIONS


class ResumeRefusedError(ModelFileError):
    """A resume that does not fit its checkpoint or its run folder, refused before a step is trained: the folder's
    `run_summary.json` (the earlier run's) is left as it was."""


def run_options_file(ckpt_path: str | Path) -> Path:
    """The Hydra overrides of the run a checkpoint in `<run>/checkpoints/` belongs to."""
    return Path(str(ckpt_path)).resolve().parent.parent / ".hydra" / "overrides.yaml"


@dataclass(frozen=True)
class SavedSchedule:
    """A checkpoint's fixed-length schedule: its steps, the optimizer steps per epoch (None: not known) and the
    options a resume restores with it (`schedule_options`)."""

    total_steps: int
    steps_per_epoch: int | None
    options: dict[str, Any] = field(default_factory=dict)


def saved_schedule(checkpoint: dict[str, Any]) -> SavedSchedule | None:
    """The checkpoint's first learning-rate schedule, when it has a fixed length; None otherwise."""
    schedulers = checkpoint.get("lr_schedulers") or [{}]
    total = schedulers[0].get("total_steps") if isinstance(schedulers[0], dict) else None
    if total is None:
        return None
    optimizers = checkpoint.get("optimizer_states") or [{}]
    groups = optimizers[0].get("param_groups", []) if isinstance(optimizers[0], dict) else []
    return SavedSchedule(int(total), _steps_per_epoch(checkpoint), schedule_options(schedulers[0], groups))


def schedule_options(scheduler_state: dict[str, Any], param_groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The options a resume restores from a scheduler's and its optimizer's states, by their config names.

    One-cycle keeps its learning rates and momenta in the optimizer's groups (the group with the highest peak is
    compared: others are it scaled, e.g. a pretrained backbone's), its phases in the scheduler; warm-up cosine its
    base learning rate, and the fractions `schedules.warmup_cosine` records (older checkpoints lack them).
    """
    phases = scheduler_state.get("_schedule_phases")
    if phases and param_groups:  # OneCycleLR
        group = max(param_groups, key=lambda g: float(g.get("max_lr", 0.0)))
        if not all(key in group for key in ("max_lr", "initial_lr", "min_lr")):
            return {}
        options: dict[str, Any] = {
            "scheduler.max_lr": group["max_lr"],
            "scheduler.pct_start": (float(phases[0]["end_step"]) + 1) / int(scheduler_state["total_steps"]),
            "scheduler.div_factor": group["max_lr"] / group["initial_lr"],
            "scheduler.final_div_factor": group["initial_lr"] / group["min_lr"],
            "scheduler.anneal_strategy": scheduler_state.get("_anneal_func_type"),
            "scheduler.three_phase": len(phases) == 3,
        }
        if scheduler_state.get("cycle_momentum") and "max_momentum" in group:
            options["scheduler.max_momentum"] = group["max_momentum"]
            options["scheduler.base_momentum"] = group["base_momentum"]
        return options
    options = {f"scheduler.{name}": scheduler_state[name] for name in WARMUP_COSINE_OPTIONS if name in scheduler_state}
    if options and scheduler_state.get("base_lrs"):
        options["optimizer.lr"] = max(scheduler_state["base_lrs"])
    return options


def _differ(given: Any, saved: Any) -> bool:
    if isinstance(given, bool) or isinstance(saved, bool) or not isinstance(given, (int, float)):
        return given != saved
    return not math.isclose(float(given), float(saved), rel_tol=1e-6)


def _steps_per_epoch(checkpoint: dict[str, Any]) -> int | None:
    """Optimizer steps per epoch, known when the checkpoint was written at the end of an epoch (as last.ckpt is)."""
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress", {})
    epochs, steps = int(checkpoint.get("epoch", -1)) + 1, int(checkpoint.get("global_step", 0))
    if not progress.get("is_last_batch") or epochs < 1 or steps % epochs:
        return None
    return steps // epochs


class ResumedScheduleCheck(L.Callback):
    """At fit start (schedulers built, the checkpoint's not yet restored), ResumeRefusedError in one line when this
    configuration's schedule has another length, its epochs another number of steps, or other options (max_lr,
    pct_start, ...) than the checkpoint's. Put it before RunSummary: a refusal must not touch the run's summary."""

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
            raise ResumeRefusedError(
                f"ckpt_path={self.ckpt_path}: its run took {self.saved.steps_per_epoch} steps an epoch, this "
                f"configuration {per_epoch}, and its learning-rate schedule cannot follow: resume with the run's own "
                f"data.batch_size, trainer.limit_train_batches and accumulate_grad_batches ({self._options()})"
            )
        if int(built) != self.saved.total_steps:
            raise ResumeRefusedError(self._length_message(trainer, int(built), per_epoch))
        scheduler = configs[0].scheduler
        given = schedule_options(scheduler.state_dict(), scheduler.optimizer.param_groups)
        differing = [
            f"{name} {_shown(given[name])} here, {_shown(saved)} in the run"
            for name, saved in self.saved.options.items()
            if name in given and _differ(given[name], saved)
        ]
        if differing:
            raise ResumeRefusedError(
                f"ckpt_path={self.ckpt_path}: a resume continues its run's learning-rate schedule, which differs from "
                f"this configuration's ({'; '.join(differing)}): resume with the run's own values ({self._options()})"
            )

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


def _shown(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
