"""Evaluate a model file on test_with_emotions.csv: accuracy per split, per class, calibration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facial_emotion.core.calibration import expected_calibration_error
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import find_csv, require_csv
from facial_emotion.evaluation.markdown import table_lines
from facial_emotion.evaluation.metrics import accuracy, confusion_matrix, per_class_accuracy
from facial_emotion.inference.predictor import EARLY_EXIT_FACES, EmotionPredictor

PUBLIC_TEST_ROWS = 3589  # the first 3589 rows of test_with_emotions.csv are PublicTest


@dataclass
class TestReport:
    """Figures of one evaluation; probabilities are the calibrated ones."""

    accuracy: float
    public_accuracy: float
    public_rows: int
    private_accuracy: float
    unseen_accuracy: float
    unseen_rows: int
    class_accuracy: np.ndarray
    confusion: np.ndarray
    ece_before: float
    ece_after: float
    probs: np.ndarray
    uncalibrated_probs: np.ndarray
    labels: np.ndarray


def public_test_mask(data_dir: Path, n_rows: int) -> np.ndarray:
    """True for PublicTest rows: from test_usage.csv when present, else the first 3589 rows."""
    usage_file = find_csv(data_dir, "test_usage.csv")
    if usage_file is not None:
        usage = np.loadtxt(usage_file, dtype=str, skiprows=1)
        if len(usage) == n_rows:
            return usage == "PublicTest"
    return np.arange(n_rows) < PUBLIC_TEST_ROWS


def rows_seen_in_training(test_images: np.ndarray, train_images: np.ndarray) -> np.ndarray:
    """True for test rows whose exact image occurs in the training set."""

    def as_keys(images: np.ndarray) -> np.ndarray:
        flat = np.ascontiguousarray(images.reshape(len(images), -1))
        return flat.view(np.dtype((np.void, flat.shape[1]))).ravel()

    return np.isin(as_keys(test_images), as_keys(train_images))


def test_probabilities(predictor: EmotionPredictor, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated and temperature-1 probabilities of every face, through the predictor's early exit if it has one."""
    with torch.inference_mode():
        if predictor.early_exit:
            results = [
                predictor.early_exit_result(torch.from_numpy(images[i : i + EARLY_EXIT_FACES]))
                for i in range(0, len(images), EARLY_EXIT_FACES)
            ]
            return tuple(
                torch.cat([getattr(r, key) for r in results]).numpy() for key in ("probabilities", "uncalibrated")
            )
        view_logits = torch.cat(
            [
                predictor.view_logits(torch.from_numpy(images[i : i + predictor.batch_size]))
                for i in range(0, len(images), predictor.batch_size)
            ]
        )
    probs = predictor.probabilities_from_view_logits(view_logits).numpy()
    return probs, predictor.probabilities_from_view_logits(view_logits, temperature=1.0).numpy()


def evaluate_model_file(
    predictor: EmotionPredictor,
    data_dir: Path,
    test_file: str = "test_with_emotions.csv",
    train_file: str = "train.csv",
) -> TestReport:
    """Run the predictor over the whole test file and compute every figure."""
    test = load_fer_csv(require_csv(data_dir, test_file))
    probs, raw_probs = test_probabilities(predictor, test.images)
    labels = test.labels
    public = public_test_mask(data_dir, len(labels))
    train_csv = find_csv(data_dir, train_file)
    seen = rows_seen_in_training(test.images, load_fer_csv(train_csv).images) if train_csv else np.zeros_like(public)
    matrix = confusion_matrix(probs.argmax(axis=1), labels, probs.shape[1])
    return TestReport(
        accuracy=accuracy(probs, labels),
        public_accuracy=accuracy(probs[public], labels[public]),
        public_rows=int(public.sum()),
        private_accuracy=accuracy(probs[~public], labels[~public]),
        unseen_accuracy=accuracy(probs[~seen], labels[~seen]),
        unseen_rows=int((~seen).sum()),
        class_accuracy=per_class_accuracy(matrix),
        confusion=matrix,
        ece_before=expected_calibration_error(raw_probs, labels),
        ece_after=expected_calibration_error(probs, labels),
        probs=probs,
        uncalibrated_probs=raw_probs,
        labels=labels,
    )


def format_report(report: TestReport, class_names: list[str], tta: str, temperature: float) -> str:
    """The text predict.py prints; its first line is `Accuracy on test set: NN%`."""
    private_rows = len(report.labels) - report.public_rows
    lines = [
        f"Accuracy on test set: {round(100 * report.accuracy)}%",
        f"Accuracy exact: {100 * report.accuracy:.2f}% ({len(report.labels)} images, test-time views: {tta})",
        f"PublicTest accuracy: {_percent(report.public_accuracy, report.public_rows)}",
        f"PrivateTest accuracy: {_percent(report.private_accuracy, private_rows)}",
        f"Accuracy on the {report.unseen_rows} test images not in train.csv: "
        f"{_percent(report.unseen_accuracy, report.unseen_rows)}",
        f"Expected calibration error (15 bins): {100 * report.ece_before:.2f}% before, "
        f"{100 * report.ece_after:.2f}% after temperature scaling (T={temperature:.3f})",
        "",
        "Per-class accuracy:",
    ]
    lines += [
        f"  {name:<9} {100 * acc:6.2f}%  ({report.confusion[i].sum()} images)"
        for i, (name, acc) in enumerate(zip(class_names, report.class_accuracy, strict=True))
    ]
    lines += [
        "",
        "Confusion matrix (rows: true, columns: predicted):",
        " " * 10 + "".join(f"{name[:8]:>9}" for name in class_names),
    ]
    lines += [
        f"  {name:<8}" + "".join(f"{v:>9d}" for v in row)
        for name, row in zip(class_names, report.confusion, strict=True)
    ]
    return "\n".join(lines)


def format_report_markdown(
    report: TestReport, class_names: list[str], tta: str, temperature: float, model_name: str, hardware: str
) -> str:
    """The same figures as `format_report`, as the Markdown page predict.py writes next to the model."""
    n_rows = len(report.labels)
    splits = [
        ["all test rows", n_rows, f"**{100 * report.accuracy:.2f}%**"],
        ["PublicTest", report.public_rows, _percent(report.public_accuracy, report.public_rows)],
        ["PrivateTest", n_rows - report.public_rows, _percent(report.private_accuracy, n_rows - report.public_rows)],
        ["not in train.csv (unseen)", report.unseen_rows, _percent(report.unseen_accuracy, report.unseen_rows)],
    ]
    classes = [
        [name, int(report.confusion[i].sum()), f"{100 * acc:.2f}%"]
        for i, (name, acc) in enumerate(zip(class_names, report.class_accuracy, strict=True))
    ]
    confusion = [[f"**{name}**", *row.tolist()] for name, row in zip(class_names, report.confusion, strict=True)]
    lines = [
        f"# Test report: {model_name}",
        "",
        f"Written by `python scripts/predict.py` (test_with_emotions.csv; test-time views `{tta}`; {hardware}).",
        "Rewritten by every run: do not edit by hand.",
        "",
        *table_lines(["split", "images", "accuracy"], splits),
        "",
        f"Expected calibration error (15 bins): {100 * report.ece_before:.2f}% at T=1, "
        f"**{100 * report.ece_after:.2f}%** after temperature scaling (T={temperature:.3f}, fitted on validation).",
        "",
        "## Per class",
        "",
        *table_lines(["class", "images", "accuracy"], classes),
        "",
        "## Confusion matrix (rows: true, columns: predicted)",
        "",
        *table_lines(["true \\ predicted", *class_names], confusion),
    ]
    return "\n".join(lines) + "\n"


def _percent(value: float, rows: int) -> str:
    """An accuracy as `72.61%`; `-` for a split without rows (a short test file has no PrivateTest rows: nan%)."""
    return f"{100 * value:.2f}%" if rows else "-"
