"""Optuna sweeper that continues a stored study, numbers runs by trial and records why trials failed.

On top of `hydra-optuna-sweeper` 1.3 (`OptunaSweeperImpl`):

- `n_trials` is the study's total budget: a rerun with the same storage and study name runs only the trials
  still missing, so an interrupted search continues where it stopped. Trials left RUNNING by an interrupted
  sweep are marked FAIL (reason "interrupted") and their slots are run again.
- Run folders are numbered by Optuna trial number (`hydra.job.num` starts at the number of stored trials),
  so a rerun never overwrites an earlier trial's folder.
- A trial whose job raised, or returned no usable objective (None, NaN, not a number), is told FAIL with
  the reason in the trial's `fail_reason` system attribute (Optuna's own convention) and `run_dir` user
  attribute; the sweep goes on (subject to the plugin's per-batch `max_failure_rate`).
- An SQLite storage's folder (the sweep folder) is created before the study is opened.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl
from omegaconf import DictConfig, OmegaConf
from optuna.trial import Trial, TrialState

from facial_emotion.core.options import exit_with_error
from facial_emotion.sweeps.grid_sweeper import JobRefusedError, job_run_dir

log = logging.getLogger(__name__)

INTERRUPTED_REASON = "interrupted: the trial was still RUNNING when the study was resumed"


def failure_reason(job: JobReturn) -> str | None:
    """Why a finished job cannot be told COMPLETE (exception or unusable return value), or None when it can."""
    if job.status == JobStatus.FAILED:
        error = job._return_value
        if isinstance(error, JobRefusedError):  # its message is the run's recorded error, type included
            return str(error)
        return f"{type(error).__name__}: {error}".strip()
    value = job._return_value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"the objective (optimized_metric) is {value!r}, not a number"
    if math.isnan(number):
        return "the objective (optimized_metric) is NaN"
    return None


class _RecordingLauncher(Launcher):
    """Wraps the configured launcher: after each batch, records run folders and failure reasons on the trials."""

    def __init__(self, launcher: Launcher, sweeper: ResumableOptunaSweeperImpl) -> None:
        self.launcher = launcher
        self.sweeper = sweeper

    def setup(self, **kwargs: Any) -> None:
        self.launcher.setup(**kwargs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        trials = self.sweeper.pending_trials
        returns = self.launcher.launch(job_overrides, initial_job_idx=initial_job_idx)
        if len(trials) != len(returns):  # not a batch configured by this sweeper: leave it alone
            return returns
        for trial, job in zip(trials, returns, strict=True):
            run_dir = job_run_dir(job)
            if run_dir:
                trial.set_user_attr("run_dir", run_dir)
            reason = failure_reason(job)
            if reason is None:
                continue
            trial.set_system_attr("fail_reason", reason)
            log.warning("trial %d failed: %s", trial.number, reason)
            if job.status != JobStatus.FAILED:  # the plugin would tell NaN as a value and crash; fail it cleanly
                job.status = JobStatus.FAILED
                job.return_value = ValueError(reason)
        return returns


class ResumableOptunaSweeperImpl(OptunaSweeperImpl):
    """`OptunaSweeperImpl` with a total trial budget, resumable run numbering and recorded failure reasons."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pending_trials: list[Trial] = []

    def setup(self, **kwargs: Any) -> None:
        super().setup(**kwargs)
        self.launcher = _RecordingLauncher(self.launcher, self)

    def _configure_trials(
        self, trials: list[Trial], search_space_distributions: dict[str, Any], fixed_params: dict[str, Any]
    ) -> Sequence[Sequence[str]]:
        self.pending_trials = list(trials)
        return super()._configure_trials(trials, search_space_distributions, fixed_params)

    def sweep(self, arguments: list[str]) -> None:
        """Resume the stored study (if any), then run the trials still missing from `n_trials`."""
        if isinstance(self.storage, str) and self.storage.startswith("sqlite:///"):
            Path(self.storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if self.n_trials < 1:  # the study's total: no trial to run and none to report (Optuna's traceback)
            exit_with_error(f"hydra.sweeper.n_trials must be at least 1 (the study's total), got {self.n_trials}")
        self._check_search_space_keys()
        if self.storage is not None and self.study_name is not None:
            self._resume_stored_study()
        try:
            super().sweep(arguments)
        except ValueError:  # the plugin asks the study for its best trial after the last batch
            self._exit_if_no_trial_completed()
            raise

    def _check_search_space_keys(self) -> None:
        """One line naming a `hydra.sweeper.params` key that is neither in the config nor a config group (a
        misspelling), before a trial is asked for, rather than Hydra's error at the first trial (left RUNNING)."""
        if not self.params or self.config is None or self.hydra_context is None:
            return
        for key in (str(k) for k in self.params):
            if key.startswith(("+", "~")) or "@" in key or key.startswith("hydra."):
                continue
            parent_key, _, name = key.rpartition(".")
            parent = OmegaConf.select(self.config, parent_key) if parent_key else self.config
            if isinstance(parent, DictConfig) and name in parent.keys():  # noqa: SIM118 (`in parent` is False for a `???` value)
                continue
            if self.hydra_context.config_loader.get_group_options(key.replace(".", "/")):
                continue
            exit_with_error(
                f"hydra.sweeper.params: {key} is not a key of the config nor a config group (misspelt? a new key "
                f"is +{key})"
            )

    def _exit_if_no_trial_completed(self) -> None:
        """One line, not Optuna's "Record does not exist" traceback, when every trial of the study failed."""
        if not self.pending_trials:
            return
        study = self.pending_trials[-1].study
        trials = study.get_trials(deepcopy=False)
        if any(t.state == TrialState.COMPLETE for t in trials):
            return
        failed = [t for t in trials if t.state == TrialState.FAIL]
        reason = failed[-1].system_attrs.get("fail_reason", "no reason recorded") if failed else ""
        exit_with_error(
            f"no trial of study {study.study_name!r} completed, so it has no best parameters and no "
            f"optimization_results.yaml: {len(failed)} failed, the last (trial {failed[-1].number}) with {reason}"
            if failed
            else f"no trial of study {study.study_name!r} completed"
        )

    def _resume_stored_study(self) -> None:
        try:
            study = optuna.load_study(study_name=self.study_name, storage=self.storage)
        except KeyError:  # no such study yet: a fresh search
            return
        except sqlalchemy.exc.SQLAlchemyError as error:  # not a database (a damaged or foreign file)
            cause = str(getattr(error, "orig", None) or error).splitlines()[0]
            exit_with_error(f"hydra.sweeper.storage={self.storage}: cannot open it as an Optuna study: {cause}")
        stored = [direction.name.lower() for direction in study.directions]
        wanted = [str(direction).lower() for direction in self._get_directions()]
        if stored != wanted:  # Optuna: "Cannot overwrite study direction" traceback
            exit_with_error(
                f"hydra.sweeper.direction={','.join(wanted)}, but study {self.study_name!r} in {self.storage} has "
                f"direction={','.join(stored)}: set hydra.sweeper.study_name to start a new study"
            )
        trials = study.get_trials(deepcopy=False)
        finished = sum(t.state.is_finished() for t in trials)
        for trial in trials:
            if trial.state == TrialState.RUNNING:
                study._storage.set_trial_system_attr(trial._trial_id, "fail_reason", INTERRUPTED_REASON)
                study._storage.set_trial_state(trial._trial_id, TrialState.FAIL)
        budget = self.n_trials
        self.n_trials = max(budget - finished, 0)
        self.job_idx = len(trials)
        if hasattr(self.sampler, "reseed_rng"):  # a re-created seeded sampler would repeat the first trials
            self.sampler.reseed_rng()
        log.info(
            "resuming study %r: %d of %d trials finished, %d to run (run folders from %d)",
            study.study_name,
            finished,
            budget,
            self.n_trials,
            self.job_idx,
        )
