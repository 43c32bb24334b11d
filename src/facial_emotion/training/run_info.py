"""Callback that keeps a run's history in its checkpoints: wall time, resumes, hardware, epochs."""

from __future__ import annotations

import time
from typing import Any

import lightning as L

from facial_emotion.core.hardware import describe_device


class RunInfo(L.Callback):
    """Accumulates wall time over resumed sessions and counts resumes; saved in every checkpoint."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"wall_time_s": 0.0, "resumes": 0, "hardware": [], "epochs_completed": 0}
        self._session_start = time.monotonic()
        self._banked = 0.0

    def _hardware(self, trainer: L.Trainer) -> str:
        return describe_device("cuda" if trainer.strategy.root_device.type == "cuda" else "cpu")

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._session_start = time.monotonic()
        self._banked = self.state["wall_time_s"]
        hardware = f"{self._hardware(trainer)}, precision {trainer.precision}"
        if hardware not in self.state["hardware"]:
            self.state["hardware"].append(hardware)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.state["epochs_completed"] = trainer.current_epoch + 1
        self.state["wall_time_s"] = self._banked + time.monotonic() - self._session_start

    def state_dict(self) -> dict[str, Any]:
        return dict(self.state)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.state = dict(state_dict)
        self.state["resumes"] = int(self.state.get("resumes", 0)) + 1
