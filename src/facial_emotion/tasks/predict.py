"""What scripts/predict.py does: evaluate, print the report, write it as Markdown, draw the plots; one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.hardware import describe_device
from facial_emotion.core.model_file import ModelFileError, output_tag, update_model_metrics
from facial_emotion.core.options import flag
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.evaluation.plots import plot_confusion_matrix, plot_reliability
from facial_emotion.evaluation.test_report import (
    TestReport,
    evaluate_model_file,
    format_report,
    format_report_markdown,
)
from facial_emotion.inference.predictor import EmotionPredictor


def plot_prefix(model_path: Path) -> str:
    """'' for the shipped model's plots, else `<model stem>_`."""
    tag = output_tag(model_path)
    return f"{tag}_" if tag else ""


def views_per_face(predictor: EmotionPredictor, report: TestReport) -> float:
    """Views the network computed per test face (fewer than the policy's with an early exit)."""
    return predictor.views_computed / max(1, len(report.labels))


def write_markdown_report(report: TestReport, predictor: EmotionPredictor, cfg: DictConfig) -> Path:
    """Write `<report_dir>/<prefix>test_report.md` (same prefix as the plots); return its path."""
    model_path = Path(cfg.model_path)
    path = Path(cfg.report_dir) / f"{plot_prefix(model_path)}test_report.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    hardware = (
        f"{describe_device(cfg.get('device', 'cpu'))}; {predictor.backend} {predictor.precision}, "
        f"{views_per_face(predictor, report):.2f} views per face"
    )
    path.write_text(
        format_report_markdown(
            report, predictor.class_names, predictor.view_policy, predictor.temperature, model_path.name, hardware
        )
    )
    return path


def run(cfg: DictConfig) -> int:
    """Print the test report for `cfg.model_path`; return the process exit code."""
    expand_home(cfg)
    try:
        record = flag(cfg, "record_metrics")
        predictor = EmotionPredictor(
            cfg.model_path,
            tta=cfg.get("tta"),
            device=cfg.get("device", "cpu"),
            backend=cfg.get("backend", "auto"),
            early_exit=cfg.get("early_exit"),
        )
        if record and predictor.precision == "int8":
            raise ValueError("record_metrics records the model's own figures: use backend=torch or onnxruntime")
        report = evaluate_model_file(predictor, Path(cfg.data_dir), cfg.test_file)
    except (ModelFileError, FERDataError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_report(report, predictor.class_names, predictor.view_policy, predictor.temperature))
    views = views_per_face(predictor, report)
    print(f"(network computed by backend {predictor.backend}, {predictor.precision}; {views:.2f} views per face)")
    if record and predictor.early_exit:
        update_model_metrics(Path(cfg.model_path), {"test/acc@early_exit": report.accuracy})
        print(f"Recorded test/acc@early_exit in {cfg.model_path}")
    elif record and predictor.tta != predictor.model.preprocessing.tta:
        # Other views than the file's: recorded beside, the reference of a cheaper check (CI: the live view).
        update_model_metrics(Path(cfg.model_path), {f"test/acc@{predictor.tta}": report.accuracy})
        print(f"Recorded test/acc@{predictor.tta} in {cfg.model_path}")
    elif record:
        update_model_metrics(
            Path(cfg.model_path),
            {
                "test/acc": report.accuracy,
                "test/acc_public": report.public_accuracy,
                "test/acc_private": report.private_accuracy,
                "test/acc_unseen": report.unseen_accuracy,
                "test/ece_uncalibrated": report.ece_before,
                "test/ece": report.ece_after,
            },
        )
        print(f"Recorded the test figures in {cfg.model_path}")
    if cfg.get("plots_dir"):
        plots = Path(cfg.plots_dir)
        plots.mkdir(parents=True, exist_ok=True)
        prefix = plot_prefix(Path(cfg.model_path))
        plot_confusion_matrix(
            report.confusion,
            predictor.class_names,
            plots / f"{prefix}confusion_matrix.png",
            f"Test set, accuracy {100 * report.accuracy:.1f}%",
        )
        plot_reliability(
            {
                f"T=1 (ECE {100 * report.ece_before:.1f}%)": (report.uncalibrated_probs, report.labels),
                f"T={predictor.temperature:.2f} (ECE {100 * report.ece_after:.1f}%)": (report.probs, report.labels),
            },
            plots / f"{prefix}calibration.png",
        )
        print(f"\nWrote {plots / f'{prefix}confusion_matrix.png'} and {plots / f'{prefix}calibration.png'}")
    if cfg.get("report_dir"):
        print(f"Wrote {write_markdown_report(report, predictor, cfg)}")
    return 0
