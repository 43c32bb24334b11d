"""Figures: confusion matrix, reliability diagram, learning curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from facial_emotion.core.calibration import reliability_bins  # noqa: E402


def plot_confusion_matrix(matrix: np.ndarray, class_names: list[str], path: Path, title: str) -> None:
    """Row-normalised confusion matrix with counts."""
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(
                j,
                i,
                f"{normalised[i, j]:.2f}\n({matrix[i, j]})",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if normalised[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(class_names)), class_names, rotation=45)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, n_bins: int = 15) -> None:
    """Reliability diagram: accuracy against confidence per bin, one line per (probs, labels) entry."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    for name, (probs, labels) in curves.items():
        conf, acc, counts = reliability_bins(probs, labels, n_bins)
        used = counts > 0
        ax.plot(conf[used], acc[used], "o-", label=name)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram (test set, 15 bins)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# Curves of fewer points than this have each point marked; longer ones are lines alone (markers would crowd them).
FEW_POINTS = 20


def plot_learning_curves(
    scalars: dict[str, list[tuple[int, float]]],
    best_epoch: int | None,
    path: Path,
    stage_starts: Sequence[int] = (),
    note: str = "",
) -> None:
    """Loss and accuracy per epoch for train and validation, the chosen epoch and later stages' starts marked.

    `note` is added to the caption (e.g. what a later stage's training loss measures).
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("loss", "acc"), strict=True):
        for stage in ("train", "val"):
            points = scalars.get(f"{stage}/{metric}", [])
            if points:  # a marker on each of a few points: a line of one point (a 1-epoch run) draws nothing
                marker = "o" if len(points) < FEW_POINTS else None
                ax.plot([p[0] for p in points], [p[1] for p in points], marker=marker, ms=4, label=f"{stage}/{metric}")
        for number, start in enumerate(stage_starts, start=2):
            ax.axvline(start, color="gray", ls=":", lw=1, label=f"stage {number} starts (epoch {start})")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="red", ls="--", lw=1, label=f"checkpoint chosen (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    # Without this, mixup's low train accuracy reads as underfitting.
    fig.text(
        0.5,
        0.01,
        "train: augmented batches (crops, erasing, mixup when on), dropout active; val: clean centre crop"
        + (f"\n{note}" if note else ""),
        ha="center",
        fontsize=8,
        color="dimgray",
    )
    fig.tight_layout(rect=(0, 0.07 if note else 0.04, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
