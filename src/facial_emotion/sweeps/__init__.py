"""Sweeps: a resumable Optuna sweeper, per-run summaries, TensorBoard HPARAMS and the run-comparison report."""
