"""What scripts/predict.py does: evaluate, print the report, write it as Markdown, draw the plots; one-line errors."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from facial_emotion.core.hardware import describe_device
from facial_emotion.core.model_file import ModelFileError, output_tag, update_model_metrics
from facial_emotion.core.options import OptionError, flag
from facial_emotion.core.user_paths import expand_home
from facial_emotion.core.whole_files import write_whole
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.plots import plot_confusion_matrix, plot_reliability
from facial_emotion.evaluation.test_report import (
    TestReport,
    evaluate_model_file,
    format_report,
    format_report_markdown,
)
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import model_path_option

OUTPUT_FOLDERS = ("plots_dir", "report_dir")


def plot_prefix(model_path: Path) -> str:
    """'' for the shipped model's plots and report, else `<tag>_`: the file's stem, after its run's (or folder's)
    name for a file named as a shipped one (`<run>/model/my_own_model.pkl`), so it never replaces theirs."""
    tag = output_tag(model_path, PROJECT_ROOT)
    return f"{tag}_" if tag else ""


def views_per_face(predictor: EmotionPredictor, report: TestReport) -> float:
    """Views the network computed per test face (fewer than the policy's with an early exit)."""
    return predictor.views_computed / max(1, len(report.labels))


def read_path_options(cfg: DictConfig) -> None:
    """Each path option as text before any work: `test_file=5` or `plots_dir=5` arrive as numbers (a TypeError
    traceback), `model_path=[a,b]` as a list; one of those is an `OptionError` naming the option."""
    cfg.model_path = str(model_path_option(cfg.model_path))
    for key in ("data_dir", "test_file", *OUTPUT_FOLDERS):
        value = cfg.get(key)
        if OmegaConf.is_list(value) or OmegaConf.is_dict(value):
            raise OptionError(f"{key} takes one path, got {OmegaConf.to_container(value)!r}")
        if value is not None and not isinstance(value, str):
            cfg[key] = str(value)


def make_output_folder(cfg: DictConfig, key: str) -> None:
    """Make the folder `cfg[key]` names (plots_dir, report_dir) before the evaluation: a file in its way or a folder
    that cannot be written is an `OptionError` now, not a traceback after the minute the evaluation takes."""
    if not cfg.get(key):
        return
    folder = Path(cfg[key])
    if folder.exists() and not folder.is_dir():
        raise OptionError(f"{key}={cfg[key]}: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OptionError(f"{key}={cfg[key]}: cannot make the folder ({error.strerror or error})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OptionError(f"{key}={cfg[key]}: the folder is not writable")


def check_model_file_writable(model_path: Path) -> None:
    """`record_metrics=true` rewrites the model file (a temporary file beside it, then renamed): say before the
    evaluation when that cannot be done."""
    if not os.access(model_path.parent, os.W_OK | os.X_OK) or not os.access(model_path, os.W_OK):
        raise OptionError(f"record_metrics=true: {model_path} cannot be rewritten here (no permission)")


def write_markdown_report(report: TestReport, predictor: EmotionPredictor, cfg: DictConfig) -> Path:
    """Write `<report_dir>/<prefix>test_report.md` (same prefix as the plots); return its path."""
    model_path = Path(cfg.model_path)
    prefix = plot_prefix(model_path)
    path = Path(cfg.report_dir) / f"{prefix}test_report.md"
    # a file named as a shipped one (a run's my_own_model.pkl) is titled by its path, not by the shipped name
    title = model_path.name if prefix in ("", f"{model_path.stem}_") else str(model_path)
    hardware = (
        f"{describe_device(cfg.get('device', 'cpu'))}; {predictor.backend} {predictor.precision}, "
        f"{views_per_face(predictor, report):.2f} views per face"
    )
    text = format_report_markdown(
        report, predictor.class_names, predictor.view_policy, predictor.temperature, title, hardware
    )
    write_whole(path, lambda partial: partial.write_text(text))
    return path


def run(cfg: DictConfig) -> int:
    """Print the test report for `cfg.model_path`; return the process exit code."""
    expand_home(cfg)
    try:
        read_path_options(cfg)
        record = flag(cfg, "record_metrics")
        for key in OUTPUT_FOLDERS:
            make_output_folder(cfg, key)
        predictor = EmotionPredictor(
            cfg.model_path,
            tta=cfg.get("tta"),
            device=cfg.get("device", "cpu"),
            backend=cfg.get("backend", "auto"),
            early_exit=cfg.get("early_exit"),
        )
        if record and predictor.precision == "int8":
            raise ValueError("record_metrics records the model's own figures: use backend=torch or onnxruntime")
        if record and predictor.early_exit and cfg.get("early_exit") != "file":
            # test/acc@early_exit is the figure of the file's own policy: another one's would be recorded under it
            raise OptionError(
                f"record_metrics=true records the file's own early exit: give early_exit=file or none, "
                f"not {cfg.early_exit!r}"
            )
        if record:
            check_model_file_writable(Path(cfg.model_path))
        report = evaluate_model_file(predictor, Path(cfg.data_dir), cfg.test_file)
    except (ModelFileError, FERDataError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # nothing is written before the evaluation ends: no report, plot or metric changed
        print("Stopped before the evaluation ended: nothing written", file=sys.stderr)
        return 130
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
        figures = {
            "test/acc": report.accuracy,
            "test/acc_public": report.public_accuracy,
            "test/acc_private": report.private_accuracy,
            "test/acc_unseen": report.unseen_accuracy,
            "test/ece_uncalibrated": report.ece_before,
            "test/ece": report.ece_after,
        }
        # A split with no rows (PrivateTest of a test file under 3589 rows) has no figure: NaN was recorded, and
        # compare_models.py printed it as "nan%" where an unmeasured figure reads "-".
        unmeasured = [key for key, value in figures.items() if not math.isfinite(value)]
        update_model_metrics(Path(cfg.model_path), {k: v for k, v in figures.items() if k not in unmeasured})
        left_out = f" (not {', '.join(unmeasured)}: no test rows)" if unmeasured else ""
        print(f"Recorded the test figures in {cfg.model_path}{left_out}")
    if cfg.get("plots_dir"):
        plots = Path(cfg.plots_dir)
        prefix = plot_prefix(Path(cfg.model_path))
        write_whole(
            plots / f"{prefix}confusion_matrix.png",
            lambda partial: plot_confusion_matrix(
                report.confusion,
                predictor.class_names,
                partial,
                f"Test set, accuracy {100 * report.accuracy:.1f}%",
            ),
        )
        reliability = {
            f"T=1 (ECE {100 * report.ece_before:.1f}%)": (report.uncalibrated_probs, report.labels),
            f"T={predictor.temperature:.2f} (ECE {100 * report.ece_after:.1f}%)": (report.probs, report.labels),
        }
        write_whole(plots / f"{prefix}calibration.png", lambda partial: plot_reliability(reliability, partial))
        print(f"\nWrote {plots / f'{prefix}confusion_matrix.png'} and {plots / f'{prefix}calibration.png'}")
    if cfg.get("report_dir"):
        print(f"Wrote {write_markdown_report(report, predictor, cfg)}")
    return 0
