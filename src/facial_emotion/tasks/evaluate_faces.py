"""`scripts/evaluate_faces.py`: the photo pipeline's accuracy on a labelled folder of real faces."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from omegaconf import DictConfig

from facial_emotion.core.hardware import cpu_name
from facial_emotion.core.model_file import ModelFile, ModelFileError, model_label
from facial_emotion.core.options import OptionError, number, path_option, prepare_output_file, require_options
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.face_evaluation import CROP_MODES, FaceSetResult, evaluate_face_set
from facial_emotion.evaluation.face_results_table import update_table
from facial_emotion.evaluation.face_sets import FaceSet, FaceSetError, find_face_set
from facial_emotion.evaluation.plots import plot_confusion_matrix
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_photo_pipeline
from facial_emotion.video.image_files import describe_skipped
from facial_emotion.video.pipeline_options import check_pipeline_options


def run(cfg: DictConfig) -> int:
    """Evaluate, print the report, write the CSV, confusion matrix and (with `table=`) the results table.

    Returns the exit status: 0, or 2 with a one-line `error:` when nothing could be evaluated.
    """
    expand_home(cfg)
    require_options(cfg, path="a folder with a subfolder of photos per emotion")
    if cfg.crop not in CROP_MODES:
        return _error(f"crop must be one of {', '.join(CROP_MODES)}, got {cfg.crop!r}")
    try:
        given_pad = number(cfg, "given_pad", minimum=0)
        check_pipeline_options(cfg.face_pipeline)
        check_outputs(cfg)  # before minutes of work, not after
        face_set = find_face_set(cfg.path)
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, backend=cfg.backend, early_exit=cfg.get("early_exit"))
    except (FaceSetError, ModelFileError, ValueError, OSError) as error:
        return _error(str(error))
    pipeline = build_photo_pipeline(cfg.face_pipeline, predictor)
    result = evaluate_face_set(face_set, pipeline, crop=cfg.crop, given_pad=given_pad)
    if result.readable.empty:
        return _error(f"none of the {len(result.rows)} images under {face_set.root} could be read")
    summary = result.summary()
    print_report(result, summary, cfg.crop, predictor)
    if face_set.skipped_folders:
        print(f"Skipped folders (not FER2013 class names): {', '.join(face_set.skipped_folders)}")
    if face_set.skipped_files:
        print(describe_skipped(face_set.skipped_files, face_set.root))
    if face_set.unlistable_folders:
        print(describe_unlistable_folders(face_set))
    write_outputs(cfg, face_set.name, result, summary, predictor)
    return 0


def print_report(result: FaceSetResult, summary: dict, crop: str, predictor: EmotionPredictor) -> None:
    readable = summary["images"] - summary["unreadable"]
    print(f"Accuracy on faces: {100 * summary['accuracy']:.0f}%")
    print(f"Accuracy exact: {100 * summary['accuracy']:.2f}% ({readable} images; a missed face counts as wrong)")
    if summary["unreadable"]:
        unreadable = result.rows[result.rows["outcome"] == "unreadable"]["file"].tolist()
        print(f"Unreadable images (not counted): {summary['unreadable']}: {shorten(unreadable)}")
    found = len(result.found)
    if crop == "detect":
        print(f"Faces found: {found} of {readable} ({100 * summary['faces_found']:.1f}%)")
    print(f"Accuracy of found faces: {100 * summary['found_accuracy']:.2f}%")
    print(f"Expected calibration error of found faces (15 bins): {100 * summary['ece']:.2f}%")
    print(f"Model {predictor.model_path.name}, views {predictor.view_policy}, crop {crop}; CPU {cpu_name()}")
    print("Recall per class (all images of the class):")
    counts = result.readable["label"].value_counts()
    for name, recall in zip(result.class_names, summary["recall"], strict=True):
        if not np.isnan(recall):
            print(f"  {name:<9} {100 * recall:6.2f}%  ({counts[name]} images)")
    missed = result.rows[result.rows["outcome"] == "no face"]["file"].tolist()
    if missed:
        print(f"No face found in {len(missed)}: {shorten(missed)}")


def describe_unlistable_folders(face_set: FaceSet) -> str:
    """One line naming the folders in the class folders that could not be listed: their photos are not counted."""
    folders = [f"{folder.relative_to(face_set.root)} ({reason})" for folder, reason in face_set.unlistable_folders]
    return f"Unreadable folders (their photos not counted): {len(folders)}: {shorten(folders)}"


def shorten(files: list[str], shown: int = 10) -> str:
    """The first `shown` file names, and how many more."""
    return ", ".join(files[:shown]) + (f", ... ({len(files) - shown} more)" if len(files) > shown else "")


def check_outputs(cfg: DictConfig) -> None:
    """OSError or ValueError, naming the option, for an output that could not be written: a folder that cannot be
    made, a path that is a folder, a confusion matrix in a format matplotlib does not write."""
    for key in ("log", "confusion_png", "table"):
        path = path_option(cfg[key])
        if path is None:
            continue
        prepare_output_file(path, f"{key}={cfg[key]}")
    confusion = path_option(cfg.confusion_png)
    formats = FigureCanvasBase.get_supported_filetypes()
    if confusion is not None and confusion.suffix.lower().lstrip(".") not in formats:
        raise OptionError(f"confusion_png={cfg.confusion_png}: matplotlib writes {', '.join(sorted(formats))}")


def write_outputs(cfg: DictConfig, set_name: str, result: FaceSetResult, summary: dict, predictor) -> None:
    """The per-image CSV, the confusion matrix PNG and the results table row, each only where configured."""
    written = []
    # the shipped files' rows are keyed by their stem; a run's my_own_model.pkl gets a row of its own beside them
    label = model_label(predictor.model_path, PROJECT_ROOT)
    if cfg.log:
        log = Path(cfg.log)
        log.parent.mkdir(parents=True, exist_ok=True)
        result.rows.to_csv(log, index=False)
        written.append(str(log))
    if cfg.confusion_png:
        path = Path(cfg.confusion_png)
        path.parent.mkdir(parents=True, exist_ok=True)
        title = f"{set_name}, {label}, crop {cfg.crop}: found faces"
        plot_confusion_matrix(result.confusion(), result.class_names, path, title)
        written.append(str(path))
    if cfg.table:
        key = {"model": label, "set": set_name, "crop": cfg.crop, "views": predictor.view_policy}
        table = Path(cfg.table)
        update_table(table, key, {**summary, "fer2013": fer2013_figures(predictor.model)})
        written.append(f"{table} (row {label})")
    if written:
        print("Wrote " + ", ".join(written))


def fer2013_figures(model: ModelFile) -> dict:
    """The FER2013 test figures the model file records (accuracy, ECE, per-class where present)."""
    metrics = model.metrics
    figures = {"views": model.preprocessing.tta, "accuracy": metrics.get("test/acc"), "ece": metrics.get("test/ece")}
    figures |= {
        f"recall_{name}": metrics[f"test/acc_{name}"] for name in model.class_names if f"test/acc_{name}" in metrics
    }
    return figures


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2
