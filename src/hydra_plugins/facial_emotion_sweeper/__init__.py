"""Hydra plugin entry: the Optuna sweeper that resumes studies and records why trials failed.

Hydra only instantiates plugins defined under the `hydra_plugins` namespace, so this class is a thin shell;
the logic lives in `facial_emotion.sweeps.optuna_sweeper` and is imported only when a sweep starts.
"""

from __future__ import annotations

from typing import Any

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
