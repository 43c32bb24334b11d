"""Validation curves of many runs overlaid in one figure (`sweep_curves.png`)."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from facial_emotion.sweeps.report import short_floats  # noqa: E402
from facial_emotion.sweeps.run_table import RunRecord, split_overrides  # noqa: E402
from facial_emotion.training.tensorboard_scalars import read_epoch_scalars  # noqa: E402

# Runs drawn in colour with a legend entry; the rest are thin grey lines.
HIGHLIGHTED = 10
DEFAULT_CURVE = "val/acc"


def read_curve(run_dir: Path, tag: str = "val/acc") -> list[tuple[int, float]]:
    """[(epoch, value)] from the run's TensorBoard events, else from its CSV logger file; [] when neither has it."""
    if (run_dir / "tensorboard").is_dir():
        curve = read_epoch_scalars(run_dir / "tensorboard", (tag,)).get(tag, [])
        if curve:
            return curve
    metrics_csv = run_dir / "csv" / "metrics.csv"
    if not metrics_csv.is_file():
        return []
    with metrics_csv.open(newline="") as handle:
        values = [row[tag] for row in csv.DictReader(handle) if row.get(tag)]
    return [(epoch, float(value)) for epoch, value in enumerate(values)]


def _short_override(override: str) -> str:
    """`optimizer.weight_decay=0.00154` -> `weight_decay=0.00154`."""
    key, sep, value = override.partition("=")
    return f"{key.split('.')[-1]}{sep}{value}"


def _label(record: RunRecord, distinct: list[str]) -> str:
    text = short_floats(" ".join(_short_override(o) for o in distinct), digits=3)
    return f"{record.name}: {text}" if text else record.name


def plot_sweep_curves(records: list[RunRecord], path: Path, tag: str = "val/acc", metric: str = "") -> int:
    """Overlay `tag` per epoch for the runs (given best first); returns how many runs had a curve to draw."""
    _, distinct = split_overrides(records)
    fig, ax = plt.subplots(figsize=(10, 6))
    drawn = 0
    for rank, record in reversed(list(enumerate(records))):  # the best are drawn last, on top
        curve = read_curve(record.path, tag)
        if not curve:
            continue
        epochs, values = zip(*curve, strict=True)
        if rank < HIGHLIGHTED:
            label = _label(record, distinct[record.name])
            ax.plot(epochs, values, marker="." if len(curve) < 30 else None, lw=1.6, label=label, zorder=3)
        else:
            ax.plot(epochs, values, color="0.75", lw=0.8, zorder=1)
        drawn += 1
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(tag)
    title = f"{tag} per epoch, {drawn} runs"
    if len(records) > HIGHLIGHTED:
        title += f" (the best {HIGHLIGHTED} by {metric or 'the target metric'} in colour)"
    ax.set_title(title)
    if drawn:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], fontsize=7, loc="best")  # best first
    else:
        ax.text(0.5, 0.5, f"no {tag} logged yet", ha="center", va="center", transform=ax.transAxes)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return drawn
