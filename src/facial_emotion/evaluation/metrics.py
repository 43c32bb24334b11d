"""Classification figures from predicted probabilities: accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

import numpy as np


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy in [0, 1] (nan for no rows)."""
    return float((probs.argmax(axis=1) == labels).mean()) if len(labels) else float("nan")


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    return np.bincount(labels * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix."""
    return np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)
