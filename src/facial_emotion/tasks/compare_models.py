"""`python scripts/compare_models.py ['model_paths=[...]'] [output=...]`: a Markdown table comparing model files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from omegaconf import DictConfig

from facial_emotion.core.hardware import describe_device
from facial_emotion.core.model_file import SHIPPED_MODEL_DIR, ModelFileError, is_shipped_model, model_label
from facial_emotion.core.options import exit_with_error, number, path_option, prepare_output_file
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.locate import PROJECT_ROOT, work_root
from facial_emotion.evaluation.model_comparison import compare_model, markdown_table
from facial_emotion.inference.predictor import checked_device
from facial_emotion.models.loading import model_paths_option

AUTO = "auto"  # output=auto: the shipped page for the shipped files, a page under outputs/ for any other


def run(cfg: DictConfig) -> None:
    """Print size, accuracy and speed of each model file, beside the hardware; write the table to `output`."""
    expand_home(cfg)
    try:
        checked_device(cfg.device)
        if not cfg.batches or not all(isinstance(size, int) and size >= 1 for size in cfg.batches):
            raise ValueError(f"batches must be whole numbers >= 1, got {list(cfg.batches or [])}")
        repeats = number(cfg, "repeats", minimum=1, integer=True)  # 0 timed calls wrote "nan" ms/face
        if repeats is None:
            raise ValueError("repeats must be a whole number >= 1, got None")
        cfg.repeats = repeats
        model_paths = model_paths_option(cfg.model_paths)
        output = output_page(cfg, model_paths)  # checked before the minutes of timing, not after them
        if output is not None:
            prepare_output_file(output, f"output={cfg.output}" if cfg.output != AUTO else f"output=auto ({output})")
    except (ValueError, OSError) as error:
        exit_with_error(str(error))
    hardware = f"{describe_device(cfg.device)}; torch {torch.__version__}"
    load = os.getloadavg()[0]  # timings on a busy machine are slower: the page says how busy it was
    try:
        print(f"Hardware: {hardware}", flush=True)
        rows = []
        for position, path in enumerate(model_paths, 1):  # minutes each: say which one is being timed
            print(f"Timing {position}/{len(model_paths)}: {model_label(path, PROJECT_ROOT)} ({path})", flush=True)
            rows.append(compare_model(path, cfg.device, tuple(cfg.batches), cfg.repeats))
    except (ModelFileError, FileNotFoundError) as error:
        exit_with_error(str(error))
    except KeyboardInterrupt:  # the page is written once every file is timed: the earlier one stays as it was
        print("Stopped before every model file was timed: nothing written", file=sys.stderr)
        sys.exit(130)
    table = markdown_table(rows)
    print(table)
    if output is not None:
        shipped = all(is_shipped_model(path, PROJECT_ROOT) for path in model_paths)
        output.write_text(models_page(table, hardware, load, os.cpu_count() or 1, cfg.repeats, shipped))
        aside = (
            "" if shipped or cfg.output != AUTO else " (not results/model/models.md: not every file is a shipped one)"
        )
        print(f"Wrote {output}{aside}")


def output_page(cfg: DictConfig, model_paths: list[Path]) -> Path | None:
    """Where the page goes: `output=` as given (null: nowhere); `auto`: results/model/models.md when every file is a
    shipped one at its place, else `<outputs>/compare_models/models.md`, so comparing a run's files (named
    my_own_model.pkl as the shipped one is) never replaces the shipped page."""
    if cfg.get("output") != AUTO:
        return path_option(cfg.get("output"))
    if all(is_shipped_model(path, PROJECT_ROOT) for path in model_paths):
        return PROJECT_ROOT / SHIPPED_MODEL_DIR / "models.md"
    log_dir = cfg.get("paths", {}).get("log_dir") or work_root() / "outputs"
    return Path(str(log_dir)).expanduser() / "compare_models" / "models.md"


def models_page(table: str, hardware: str, load: float, cpus: int, repeats: int, shipped: bool = True) -> str:
    """The Markdown page compare_models.py writes: what the columns are, where they were measured, the table."""
    return "\n".join(
        [
            "# The shipped models side by side" if shipped else "# Model files side by side",
            "",
            "Written by `python scripts/compare_models.py`: do not edit by hand. Test accuracy is what each",
            "file records for the whole of test_with_emotions.csv with its default test-time views (its training",
            "run's test, or `python scripts/predict.py record_metrics=true`; `-`: not measured on the whole test",
            "set); ms/face is measured by this run, per view set and",
            f"batch size (median of {repeats} calls), on {hardware}.",
            f"Load average when it started: {load:.1f} on {cpus} CPUs (timings vary by up to ~30% between runs",
            "on a shared machine, more when it is busy).",
            "",
            table,
            "",
        ]
    )
