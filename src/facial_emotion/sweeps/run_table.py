"""Collect the runs under a folder (a multirun/sweep folder or any folder of runs) into one sorted table."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from facial_emotion.training.resume_schedule import ResumeRefusedError
from facial_emotion.training.run_summary import (
    REFUSAL_ERRORS,
    REFUSED,
    SUMMARY_FILE,
    ran_a_fraction,
    read_run_summary,
)

DEFAULT_METRIC = "val/acc_best"
TEST_METRIC = "test/acc"
# Column of the raw table (CSV): True where the run tested a few batches only, so its test/ figures are not the
# test set's.
PARTIAL_TEST_COLUMN = "test_partial"


class RunsNotFoundError(FileNotFoundError):
    """The folder does not exist or holds no runs."""


@dataclass
class RunRecord:
    """What is known about one run folder (from run_summary.json, else from its TensorBoard events)."""

    name: str
    path: Path
    overrides: list[str] = field(default_factory=list)
    status: str = "unknown"
    metrics: dict[str, float] = field(default_factory=dict)
    epochs: int | None = None
    wall_time_s: float | None = None
    device: str | None = None
    precision: str | None = None
    error: str | None = None
    partial_test: bool = False  # tested a few batches only (limit_test_batches, fast_dev_run)


def is_run_dir(path: Path) -> bool:
    """A folder Hydra ran a job in, or one with a run summary."""
    return (path / ".hydra" / "overrides.yaml").is_file() or (path / SUMMARY_FILE).is_file()


def find_run_dirs(root: Path) -> list[Path]:
    """Run folders under `root` (or `root` itself), in natural order (2 before 10); never looks inside a run."""
    if not root.is_dir():
        raise RunsNotFoundError(f"no such folder: {root}")
    runs: list[Path] = []
    for folder, subfolders, _ in os.walk(root):
        path = Path(folder)
        if is_run_dir(path):
            runs.append(path)
            subfolders[:] = []
        else:
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
    if not runs:
        raise RunsNotFoundError(f"no runs under {root} (folders with .hydra/overrides.yaml or {SUMMARY_FILE})")
    return sorted(runs, key=lambda p: natural_key(str(p.relative_to(root))))


def natural_key(text: str) -> list[Any]:
    """Sort key that orders embedded numbers numerically."""
    parts: list[Any] = []
    number = ""
    for char in text + "\0":
        if char.isdigit():
            number += char
            continue
        if number:
            parts.append((0, int(number)))
            number = ""
        parts.append((1, char))
    return parts


def _read_overrides(run_dir: Path) -> list[str]:
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        return [str(item) for item in OmegaConf.to_container(OmegaConf.load(path))]
    except Exception:  # a half-written file of a run that is starting
        return []


def _number(value: Any) -> float | None:
    """A summary's value as a float, None when it is not a number (a hand-edited or foreign file may hold anything)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _numbers(metrics: Any) -> dict[str, float]:
    """The numeric entries of a summary's `metrics`."""
    if not isinstance(metrics, dict):
        return {}
    return {str(k): number for k, v in metrics.items() if (number := _number(v)) is not None}


def _tested_a_fraction(run_dir: Path, summary: dict[str, Any] | None) -> bool:
    """What the summary records, else (summaries written before it was recorded, runs without one) what the run's
    `.hydra/config.yaml` says about trainer.fast_dev_run and trainer.limit_test_batches."""
    if summary is not None and "partial_test" in summary:
        return bool(summary["partial_test"])
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        return False
    try:
        trainer = OmegaConf.to_container(OmegaConf.load(path).get("trainer") or {}, resolve=False)
    except Exception:  # a half-written file of a run that is starting
        return False
    return isinstance(trainer, dict) and ran_a_fraction(trainer, "limit_test_batches")


def _tensorboard_facts(run_dir: Path) -> tuple[dict[str, float], int | None, float | None]:
    """Final metrics, validated epochs and wall time from the run's TensorBoard events (runs without a summary)."""
    log_dir = run_dir / "tensorboard"
    if not log_dir.is_dir():
        return {}, None, None
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    tags = set(accumulator.Tags().get("scalars", []))
    metrics = {tag: accumulator.Scalars(tag)[-1].value for tag in tags if accumulator.Scalars(tag)}
    if "val/acc" in tags and "val/acc_best" not in tags:
        metrics["val/acc_best"] = max(event.value for event in accumulator.Scalars("val/acc"))
    epochs = len(accumulator.Scalars("val/acc")) if "val/acc" in tags else None
    times = [event.wall_time for tag in tags for event in accumulator.Scalars(tag)]
    return metrics, epochs, (max(times) - min(times)) if times else None


# How summaries named the errors of a refusal (REFUSAL_ERRORS, and ResumeRefusedError, the ModelFileError of a resume).
_REFUSAL_NAMES = {error.__name__ for error in (*REFUSAL_ERRORS, ResumeRefusedError)}


def _refused_before_summaries_said_so(summary: dict[str, Any]) -> bool:
    """A summary written before refusals were recorded as such: "failed" with a bad-input error and nothing trained
    (train.py refused the run in one line, exit 2)."""
    error = summary.get("error")
    return (
        summary.get("status") == "failed"
        and not summary.get("epochs_completed")
        and not summary.get("metrics")
        and isinstance(error, str)
        and error.split(":", 1)[0] in _REFUSAL_NAMES
    )


def read_run(run_dir: Path, root: Path) -> RunRecord:
    """One run's record; reads what exists, so runs still in progress (or killed) are included."""
    name = str(run_dir.relative_to(root)) if run_dir != root else run_dir.name
    record = RunRecord(name=name, path=run_dir, overrides=_read_overrides(run_dir))
    summary = read_run_summary(run_dir)
    if summary is not None:
        record.status = REFUSED if _refused_before_summaries_said_so(summary) else str(summary.get("status", "unknown"))
        record.metrics = _numbers(summary.get("metrics"))
        record.epochs = summary.get("epochs_completed")
        record.wall_time_s = _number(summary.get("wall_time_s"))
        record.device = summary.get("device")
        record.precision = summary.get("precision")
        record.error = summary.get("error")
    if summary is None or DEFAULT_METRIC not in record.metrics:
        metrics, epochs, wall_time = _tensorboard_facts(run_dir)
        record.metrics = {**metrics, **record.metrics}
        record.epochs = record.epochs or epochs
        record.wall_time_s = record.wall_time_s or wall_time
    record.partial_test = _tested_a_fraction(run_dir, summary)
    return record


def load_runs(root: Path) -> list[RunRecord]:
    """Every run under `root`; raises RunsNotFoundError for a missing folder or one without runs."""
    return [read_run(run_dir, root) for run_dir in find_run_dirs(root)]


def split_refused(records: list[RunRecord]) -> tuple[list[RunRecord], list[RunRecord]]:
    """(the runs that trained or tried to, the runs refused for bad input before training): a refused run trained
    nothing, so it has no place in a comparison; its folder holds only its options and its error."""
    return [r for r in records if r.status != REFUSED], [r for r in records if r.status == REFUSED]


def refused_lines(refused: list[RunRecord], trained: list[RunRecord]) -> list[str]:
    """One line per refused run: its name, the overrides that set it apart from the runs that trained (all of its
    own when none did) and its error."""
    _, distinct = split_overrides([*trained, *refused]) if trained else ([], {r.name: r.overrides for r in refused})
    lines = []
    for record in refused:
        what = f" ({' '.join(distinct[record.name])})" if distinct[record.name] else ""
        lines.append(f"  {record.name}{what}: {record.error or 'no error recorded'}")
    return lines


def configured_metric(records: list[RunRecord]) -> str:
    """The `optimized_metric` the runs were configured with (the first run that records one), else val/acc_best."""
    for record in records:
        path = record.path / ".hydra" / "config.yaml"
        if not path.is_file():
            continue
        try:
            config = OmegaConf.load(path)
        except Exception:  # a half-written file of a run that is starting
            continue
        metric = config.get("optimized_metric") if isinstance(config, DictConfig) else None
        if metric:
            return str(metric)
    return DEFAULT_METRIC


def sort_runs(records: list[RunRecord], metric: str, maximize: bool = True) -> list[RunRecord]:
    """Best first by `metric`; runs without it (failed, not validated yet) last, in natural order."""

    def key(record: RunRecord) -> tuple[int, float, list[Any]]:
        value = record.metrics.get(metric)
        if value is None or math.isnan(value):
            return (1, 0.0, natural_key(record.name))
        return (0, -value if maximize else value, natural_key(record.name))

    return sorted(records, key=key)


def split_overrides(records: list[RunRecord]) -> tuple[list[str], dict[str, list[str]]]:
    """(overrides shared by every run, {run name: its other overrides}): what distinguishes the runs."""
    common = set.intersection(*(set(r.overrides) for r in records)) if records else set()
    shared = [o for o in records[0].overrides if o in common] if records else []
    return shared, {r.name: [o for o in r.overrides if o not in common] for r in records}


def run_table(records: list[RunRecord], metric: str) -> pd.DataFrame:
    """The comparison table (raw values), rows in the order given."""
    _, distinct = split_overrides(records)
    rows = []
    for rank, record in enumerate(records, start=1):
        row: dict[str, Any] = {"rank": rank, "run": record.name}
        for name in dict.fromkeys((metric, DEFAULT_METRIC, TEST_METRIC)):  # the target first, each once
            row[name] = record.metrics.get(name)
        row.update(
            epochs=record.epochs,
            wall_time_s=record.wall_time_s,
            hardware=record.device,
            precision=record.precision,
            status=record.status,
            **{PARTIAL_TEST_COLUMN: record.partial_test},
            overrides=" ".join(distinct[record.name]),
            error=record.error,
        )
        rows.append(row)
    return pd.DataFrame(rows)
