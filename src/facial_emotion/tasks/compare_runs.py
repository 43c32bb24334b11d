"""`python scripts/compare_runs.py path=PATH [metric=...] [minimize=true] [curve=val/acc] [out=DIR]`.

The runs under PATH (a multirun/sweep folder, a folder of runs, or one run) sorted by the target metric, also as
CSV and Markdown, and their validation curves overlaid (sweep_curves.png). Reads what exists: works on a sweep in
progress. Runs train.py refused for bad input before training (`error: ...`, exit 2) trained nothing: they are left
out of the table and named below it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.options import OptionError, exit_with_error, flag, require_options
from facial_emotion.core.user_paths import expand_home
from facial_emotion.sweeps.curves import DEFAULT_CURVE, plot_sweep_curves, read_curve
from facial_emotion.sweeps.report import partial_test_note, short_floats, text_table, write_report
from facial_emotion.sweeps.run_table import (
    RunsNotFoundError,
    configured_metric,
    load_runs,
    refused_lines,
    run_table,
    sort_runs,
    split_overrides,
    split_refused,
)


def run(cfg: DictConfig) -> None:
    """Print the table, write the CSV, Markdown and curves; one-line errors for a bad path."""
    expand_home(cfg)
    require_options(cfg, path="a sweep folder, a folder of runs or one run folder")
    try:
        minimize = flag(cfg, "minimize")  # minimize=no is text: as a truth value it sorted the runs worst first
    except OptionError as error:
        exit_with_error(str(error))
    path = Path(cfg.path)
    try:
        records, refused = split_refused(load_runs(path))
    except RunsNotFoundError as error:
        exit_with_error(str(error))
    left_out = []
    if refused:
        were = "run was" if len(refused) == 1 else "runs were"
        left_out = [f"Left out: {len(refused)} {were} refused before training (nothing ran):"]
        left_out += refused_lines(refused, records)
    if not records:
        print("\n".join(left_out[1:]), file=sys.stderr)
        which = "its one run was" if len(refused) == 1 else f"all {len(refused)} runs there were"
        exit_with_error(f"no run under {path} trained: {which} refused before training (listed above)")
    metric = cfg.metric or configured_metric(records)
    known = sorted({name for record in records for name in record.metrics})
    if cfg.metric and known and metric not in known:  # runs that recorded nothing yet have no names to check
        exit_with_error(f"no run recorded metric={metric}; they recorded {', '.join(known)}")
    curve = cfg.curve or DEFAULT_CURVE  # runs that have not validated yet have no val/acc: only a named one is checked
    if cfg.curve and known and curve not in known and not any(read_curve(record.path, curve) for record in records):
        exit_with_error(f"no run logged curve={curve}; they logged {', '.join(known)}")
    records = sort_runs(records, metric, maximize=not minimize)
    table = run_table(records, metric)
    common, _ = split_overrides(records)
    heading = [f"{len(records)} runs in {path}, best {metric} first."]
    if common and len(records) > 1:
        heading.append("Overrides shared by every run: " + short_floats(" ".join(common)))
    out = Path(cfg.out) if cfg.out else path
    try:
        written = write_report(table, heading, out, notes=left_out)
        curves = out / "sweep_curves.png"
        drawn = plot_sweep_curves(records, curves, tag=curve, metric=metric)
    except OSError as error:
        exit_with_error(f"cannot write the report into {out}: {error}")
    print("\n".join(heading))
    print(text_table(table))
    if note := partial_test_note(table):
        print(note)
    if left_out:
        print("\n".join(left_out))
    print(f"Wrote {', '.join(str(p) for p in written)} and {curves} ({drawn} runs with {curve}).")
