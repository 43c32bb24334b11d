"""A CSVLogger that keeps the metrics of earlier sessions when an interrupted run resumes."""

from __future__ import annotations

import csv

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class AppendingExperimentWriter(ExperimentWriter):
    """Appends to an existing `metrics.csv` (keeping its columns) instead of deleting it."""

    def _check_log_dir_exists(self) -> None:
        # Lightning deletes metrics.csv here, which on `ckpt_path=...` loses every epoch logged before.
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as handle:
                self.metrics_keys = list(csv.DictReader(handle).fieldnames or [])


class ResumableCSVLogger(CSVLogger):
    """`lightning.pytorch.loggers.CSVLogger` whose metrics file survives a resumed run."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return self._experiment
