"""Final hyperparameters and metrics for TensorBoard's HPARAMS tab (one row per run of a sweep)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lightning.pytorch.loggers import Logger, TensorBoardLogger

# Metric columns of the HPARAMS tab; a run shows the ones it measured.
FINAL_METRICS = ("val/acc_best", "test/acc")
# The HPARAMS name of test/acc for a run that tested a few batches (limit_test_batches, fast_dev_run): its own
# column, so that it never reads as the test set's accuracy.
PARTIAL_TEST_METRIC = "test/acc_partial"
# Config groups that differ per run without being hyperparameters.
NOT_HYPERPARAMETERS = ("paths", "export", "hydra")


def log_final_hparams(
    loggers: Iterable[Logger],
    config: Mapping[str, Any],
    metrics: Mapping[str, float],
    step: int,
    partial_test: bool = False,
) -> None:
    """Record the run's resolved config with its final `val/acc_best` and `test/acc` on every TensorBoard logger
    (`test/acc` as `test/acc_partial` when `partial_test`: the run tested a few batches only).

    Lightning flattens the nested config to `group/key` names. The metrics are logged at `step` (the final
    global step, where they were last logged anyway), not at step 0, so their curves stay monotonic in step.
    """
    final = {name: float(metrics[name]) for name in FINAL_METRICS if name in metrics}
    if partial_test and "test/acc" in final:
        final[PARTIAL_TEST_METRIC] = final.pop("test/acc")
    if not final:
        return
    params = {key: value for key, value in config.items() if key not in NOT_HYPERPARAMETERS}
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, metrics=final, step=step)
            logger.experiment.flush()
