"""`python scripts/compare_runs.py PATH`: compare the runs of a sweep (or any folder of runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facial_emotion.sweeps.curves import plot_sweep_curves
from facial_emotion.sweeps.report import short_floats, text_table, write_report
from facial_emotion.sweeps.run_table import (
    RunsNotFoundError,
    configured_metric,
    load_runs,
    run_table,
    sort_runs,
    split_overrides,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Table of the runs under PATH sorted by the target metric (also as CSV and Markdown), "
        "and their validation curves overlaid (sweep_curves.png). Reads what exists: works on a sweep in progress."
    )
    parser.add_argument("path", type=Path, help="a multirun/sweep folder, a folder of runs, or one run folder")
    parser.add_argument("--metric", help="sort by this metric (default: the runs' optimized_metric, val/acc_best)")
    parser.add_argument("--minimize", action="store_true", help="smaller is better (e.g. a loss)")
    parser.add_argument("--curve", default="val/acc", help="scalar plotted per epoch (default: val/acc)")
    parser.add_argument("--out", type=Path, help="folder for sweep_runs.csv/.md and sweep_curves.png (default: PATH)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Print the table, write the CSV, Markdown and curves; one-line errors for a bad PATH."""
    args = parse_args(argv)
    try:
        records = load_runs(args.path)
    except RunsNotFoundError as error:
        sys.exit(f"error: {error}")
    metric = args.metric or configured_metric(records)
    records = sort_runs(records, metric, maximize=not args.minimize)
    table = run_table(records, metric)
    common, _ = split_overrides(records)
    heading = [f"{len(records)} runs in {args.path}, best {metric} first."]
    if common and len(records) > 1:
        heading.append("Overrides shared by every run: " + short_floats(" ".join(common)))
    out = args.out or args.path
    try:
        written = write_report(table, heading, out)
        curves = out / "sweep_curves.png"
        drawn = plot_sweep_curves(records, curves, tag=args.curve, metric=metric)
    except OSError as error:
        sys.exit(f"error: cannot write the report into {out}: {error}")
    print("\n".join(heading))
    print(text_table(table))
    print(f"Wrote {', '.join(str(p) for p in written)} and {curves} ({drawn} runs with {args.curve}).")
