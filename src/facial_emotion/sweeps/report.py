"""Render the run table for people: console text, Markdown and CSV."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from facial_emotion.sweeps.run_table import PARTIAL_TEST_COLUMN

ACCURACY_COLUMNS = re.compile(r"(^|/)acc")
_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{5,}(e-?\d+)?")


def short_floats(text: str, digits: int = 4) -> str:
    """`optimizer.lr=0.08605034792033113` -> `optimizer.lr=0.08605` (for reading, not for reproducing)."""
    return _FLOAT.sub(lambda m: f"{float(m.group(0)):.{digits}g}", text)


def format_duration(seconds: float | None) -> str:
    """12.3 s, 4m05s, 2h03m."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _cell(column: str, value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "wall_time_s":
        return format_duration(value)
    if ACCURACY_COLUMNS.search(column) and isinstance(value, int | float):
        return f"{100 * float(value):.2f}%"
    if isinstance(value, float):
        return f"{value:.4g}"
    if column == "overrides":
        return short_floats(str(value))
    return str(value)


PARTIAL_MARK = "*"


def _partial_rows(table: pd.DataFrame) -> list[bool]:
    if PARTIAL_TEST_COLUMN not in table:
        return [False] * len(table)
    return [not pd.isna(value) and bool(value) for value in table[PARTIAL_TEST_COLUMN]]


def partial_test_note(table: pd.DataFrame) -> str | None:
    """The footnote for test figures marked as partial, when any are."""
    if not any(_partial_rows(table)):
        return None
    return (
        f"{PARTIAL_MARK} tested on a few batches only (trainer.limit_test_batches, fast_dev_run, debug=limit or "
        "debug=fdr): not the test set's figure."
    )


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """Strings for display: accuracies in %, durations, short floats; test figures of a partial test marked with
    `*`; empty columns (e.g. no errors) dropped."""
    partial = _partial_rows(table)
    columns = [column for column in table.columns if column != PARTIAL_TEST_COLUMN]
    shown = pd.DataFrame({column: [_cell(column, v) for v in table[column]] for column in columns})
    for column in columns:
        if column.startswith("test/"):
            shown[column] = [v + PARTIAL_MARK if v and p else v for v, p in zip(shown[column], partial, strict=True)]
    shown = shown.rename(columns={"wall_time_s": "wall time"})
    return shown.loc[:, [c for c in shown.columns if (shown[c] != "").any() or c in ("run", "rank")]]


def text_table(table: pd.DataFrame) -> str:
    """Console table: numbers right-aligned, text left-aligned, two spaces between columns."""
    shown = readable_table(table)
    numeric = {c for c in table.columns if c != "run" and pd.api.types.is_numeric_dtype(table[c])}  # e.g. val/loss
    right = {c for c in shown.columns if c in ("rank", "epochs", "wall time", *numeric) or ACCURACY_COLUMNS.search(c)}
    widths = {c: max([len(c), *(len(v) for v in shown[c])]) for c in shown.columns}
    lines = []
    for row in [list(shown.columns), *shown.itertuples(index=False)]:
        cells = [
            v.rjust(widths[c]) if c in right else v.ljust(widths[c]) for c, v in zip(shown.columns, row, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _escape(text: object) -> str:
    return str(text).replace("|", "\\|")


def markdown_table(table: pd.DataFrame) -> str:
    """GitHub Markdown table."""
    shown = readable_table(table)
    lines = [
        "| " + " | ".join(_escape(c) for c in shown.columns) + " |",
        "|" + "|".join("---" for _ in shown.columns) + "|",
    ]
    lines += ["| " + " | ".join(_escape(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join(lines)


def write_report(
    table: pd.DataFrame, heading: list[str], folder: Path, stem: str = "sweep_runs", notes: Sequence[str] = ()
) -> list[Path]:
    """`<stem>.csv` (raw values) and `<stem>.md` (heading lines, the readable table, the note on partial tests, then
    `notes`: a paragraph, one line each) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = folder / f"{stem}.csv", folder / f"{stem}.md"
    table.to_csv(csv_path, index=False)
    note = partial_test_note(table)
    after = [*(["\\" + note] if note else []), *(["\\\n".join(line.strip() for line in notes)] if notes else [])]
    md_path.write_text("\n\n".join([*heading, markdown_table(table), *after]) + "\n")
    return [csv_path, md_path]
