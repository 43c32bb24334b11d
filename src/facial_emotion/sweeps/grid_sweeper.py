"""Sweep jobs refused for bad input: they end that job, not the sweep.

A single `scripts/train.py` run with a bad option, data or model file prints `error: ...` and exits with status 2.
Inside a sweep that exit would end the whole sweep at that job (Hydra's launchers catch exceptions, not SystemExit),
so a job of a sweep raises `JobRefusedError` instead: the Optuna sweeper marks its trial FAIL with the error as reason,
and the grid sweeper (`train.py -m a=1,2 b=x,y`) runs the remaining combinations, then lists the refused ones and
exits with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher

from facial_emotion.core.options import exit_with_error


class JobRefusedError(Exception):
    """A sweep job that refused its bad input; its `error:` line is printed and its message is that error."""


@dataclass(frozen=True)
class Refusal:
    """One refused job of a sweep: its number, overrides, run folder and error."""

    job_number: int
    overrides: tuple[str, ...]
    run_dir: str | None
    error: str


def job_run_dir(job: JobReturn) -> str | None:
    """The run folder of a finished job, None when the launcher did not say."""
    try:
        return str(job.hydra_cfg.hydra.runtime.output_dir)
    except AttributeError:
        return None


class RefusalRecordingLauncher(Launcher):
    """Wraps the configured launcher: a job that ended in `JobRefusedError` is recorded and passed to the sweeper as
    finished, so Hydra's grid sweeper goes on; any other failure is left for the sweeper to raise as before."""

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher
        self.refusals: list[Refusal] = []
        self.launched: list[tuple[str, ...]] = []  # every job's overrides

    def setup(self, **kwargs: Any) -> None:
        self.launcher.setup(**kwargs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        returns = self.launcher.launch(job_overrides, initial_job_idx=initial_job_idx)
        self.launched += [tuple(overrides) for overrides in job_overrides]
        for number, (overrides, job) in enumerate(zip(job_overrides, returns, strict=True), start=initial_job_idx):
            if job.status == JobStatus.FAILED and isinstance(job._return_value, JobRefusedError):
                self.refusals.append(Refusal(number, tuple(overrides), job_run_dir(job), str(job._return_value)))
                job.status = JobStatus.COMPLETED  # its return value stays the error; the sweeper only reads it
        return returns


def report_refusals(launcher: RefusalRecordingLauncher) -> None:
    """After a grid sweep: one line per refused job on stderr (its swept values, run folder and error), then
    `error: ...` and exit status 2 when any was."""
    if not launcher.refusals:
        return
    shared = set.intersection(*(set(overrides) for overrides in launcher.launched))  # the command's fixed options
    for refusal in launcher.refusals:
        swept = " ".join(o for o in refusal.overrides if o not in shared)
        what = f" ({swept})" if swept else ""
        where = f" in {refusal.run_dir}" if refusal.run_dir else ""
        print(f"  job {refusal.job_number}{what}{where}: {refusal.error}", file=sys.stderr)
    exit_with_error(
        f"{len(launcher.refusals)} of {len(launcher.launched)} jobs of this sweep were refused for bad input "
        "(listed above); the others ran"
    )
