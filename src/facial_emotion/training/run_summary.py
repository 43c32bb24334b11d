"""`run_summary.json` in every run folder: status, epochs, wall time, hardware, precision, metrics.

Rewritten after every training epoch (so a sweep in progress can be compared), when the run fails or is
interrupted, and when it completes. `compare_runs.py` reads it; runs without one fall back to TensorBoard.

A run refused for bad input before it trained a step (`error: ...`, exit 2: an option, the data, a model file, a
resume) is not a failed run: in a folder of its own (Hydra's new `outputs/...` folder, a sweep job's) the summary
says "refused" with the error, and compare_runs leaves it out of its table, naming it below; in the folder of an
earlier run (a resume) that run's summary is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException

from facial_emotion.core.hardware import describe_device
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import OptionError
from facial_emotion.core.whole_files import write_whole
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.training.run_info import RunInfo

log = logging.getLogger(__name__)

SUMMARY_FILE = "run_summary.json"
REFUSED = "refused"  # the status of a run refused for bad input before it trained a step
# Bad input, which train.py refuses in one line (`error: ...`, exit 2) rather than failing with a traceback.
# ResumeRefusedError is a ModelFileError; a FileNotFoundError is a missing input (a write that fails is an OSError).
REFUSAL_ERRORS = (FERDataError, ModelFileError, OptionError, FileNotFoundError)


def scalar_metrics(trainer: L.Trainer) -> dict[str, float]:
    """The trainer's current one-element metrics as floats."""
    return {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}


def ran_a_fraction(trainer: Mapping[str, Any], limit_option: str) -> bool:
    """Whether a run with this trainer config ran a stage on a few batches only: fast_dev_run, or `limit_option`
    (limit_val_batches, limit_test_batches) set to a number of batches or a fraction below 1.0."""
    limit = trainer.get(limit_option)  # an int counts batches, a float is a fraction (1.0: all)
    return bool(trainer.get("fast_dev_run")) or not (limit is None or (isinstance(limit, float) and limit >= 1.0))


def read_run_summary(run_dir: Path) -> dict[str, Any] | None:
    """The run's summary, or None when it has none (or it is unreadable, e.g. being rewritten, or not an object)."""
    try:
        summary = json.loads((run_dir / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


class RunSummary(L.Callback):
    """Writes `run_summary.json` into `output_dir` (global rank zero only) as training progresses."""

    def __init__(self, output_dir: Path, run_info: RunInfo) -> None:
        self.path = Path(output_dir) / SUMMARY_FILE
        self.run_info = run_info
        self.device: str | None = None
        self.precision: str | None = None
        self.metrics: dict[str, float] = {}
        # Set before testing: True when the test ran on a few batches (its test/ figures are not the test set's).
        self.partial_test: bool | None = None
        # Set after fitting: the epochs trained when early stopping ended the run before trainer.max_epochs.
        self.stopped_early: int | None = None
        # Whether training began (or fit returned: a resume with no epoch left): bad input found later is a failure.
        self.training_started = False
        # The summary of an earlier run in this folder (a resume into it), put back when this run is refused.
        self.earlier: bytes | None = None
        with contextlib.suppress(OSError):
            self.earlier = self.path.read_bytes()

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.device = describe_device("cuda" if trainer.strategy.root_device.type == "cuda" else "cpu")
        self.precision = str(trainer.precision)
        self.write("running")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.training_started = True

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.training_started = True

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.metrics.update(scalar_metrics(trainer))
        self.write("running")

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if self.is_refusal(exception):  # train() records it (RunSummary.refused) when the exception reaches it
            return
        self.metrics.update(scalar_metrics(trainer))
        stopped = isinstance(exception, KeyboardInterrupt | SIGTERMException)  # Ctrl-C, or `kill` / preemption
        self.write("interrupted" if stopped else "failed", error=exception)

    def is_refusal(self, error: BaseException) -> bool:
        """Whether `error` refuses the run: bad input found before a step was trained."""
        return isinstance(error, REFUSAL_ERRORS) and not self.training_started

    def refused(self, error: BaseException) -> None:
        """Record a run refused before training: where the folder held an earlier run's summary (a resume into its
        own folder) put it back as it was (this run may have written "running" over it); else "refused", with the
        error (a one-line message: no traceback)."""
        if rank_zero_only.rank != 0:
            return
        if self.earlier is None:
            self.write(REFUSED, error=error, with_traceback=False)
        else:
            self._replace(self.earlier)

    def write(
        self,
        status: str,
        metrics: dict[str, float] | None = None,
        error: BaseException | None = None,
        with_traceback: bool = True,
    ) -> None:
        """Record the run's state; `metrics` are merged into those seen so far."""
        if rank_zero_only.rank != 0:
            return
        self.metrics.update(metrics or {})
        state = self.run_info.state_dict()
        summary: dict[str, Any] = {
            "status": status,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "epochs_completed": state.get("epochs_completed", 0),
            "wall_time_s": round(float(state.get("wall_time_s", 0.0)), 1),
            "resumes": state.get("resumes", 0),
            "device": self.device,
            "precision": self.precision,
            "metrics": dict(sorted(self.metrics.items())),
        }
        if self.partial_test is not None:
            summary["partial_test"] = self.partial_test
        if self.stopped_early is not None:
            summary["stopped_early_after_epoch"] = self.stopped_early
        if error is not None:
            summary["error"] = f"{type(error).__name__}: {error}".strip()
            if with_traceback:
                summary["traceback"] = "".join(traceback.format_exception(error)[-8:])
        self._replace((json.dumps(summary, indent=2) + "\n").encode())

    def _replace(self, content: bytes) -> None:
        """Write the summary file whole (a reader never sees half of it); a failed write is a warning."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_whole(self.path, lambda temporary: temporary.write_bytes(content))
        except OSError as error:  # a full disk: the checkpoint that fails next says it; this must not hide it
            log.warning("could not write %s (%s)", self.path, error.strerror or error)
