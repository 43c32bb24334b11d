"""Hydra plugin entry: the Optuna sweeper that resumes studies and records why trials failed, and the grid sweeper
that runs past jobs refused for bad input.

Hydra only instantiates plugins defined under the `hydra_plugins` namespace, so these classes are thin shells;
the logic lives in `facial_emotion.sweeps` and is imported only when a sweep starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.utils import JobReturn


class GridSweeper(BasicSweeper):
    """Hydra's grid sweeper (configs/hydra/sweeper/basic.yaml): a job that refuses its bad input ends that job, not
    the sweep; the refused jobs are listed once all have run, exit status 2."""

    def setup(self, **kwargs: Any) -> None:
        from facial_emotion.sweeps.grid_sweeper import RefusalRecordingLauncher

        super().setup(**kwargs)
        self.launcher = RefusalRecordingLauncher(self.launcher)

    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        from facial_emotion.sweeps.grid_sweeper import report_refusals

        returns = super().sweep(arguments)
        report_refusals(self.launcher)
        return returns


try:
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
except ImportError:  # hydra-optuna-sweeper not installed: nothing to register
    OptunaSweeper = None

if OptunaSweeper is not None:

    class ResumableOptunaSweeper(OptunaSweeper):
        """`hydra-optuna-sweeper` with resumable numbering, a total `n_trials` budget and failure reasons."""

        def __init__(self, **kwargs: Any) -> None:
            from facial_emotion.sweeps.optuna_sweeper import ResumableOptunaSweeperImpl

            self.sweeper = ResumableOptunaSweeperImpl(**kwargs)
