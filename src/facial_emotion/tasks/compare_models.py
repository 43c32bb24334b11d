"""`python scripts/compare_models.py ['model_paths=[...]'] [output=...]`: a Markdown table comparing model files."""

from __future__ import annotations

import os
import sys

import torch
from omegaconf import DictConfig

from facial_emotion.core.hardware import describe_device
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import exit_with_error, number, path_option, prepare_output_file
from facial_emotion.core.user_paths import expand_home
from facial_emotion.evaluation.model_comparison import compare_model, markdown_table
from facial_emotion.inference.predictor import checked_device
from facial_emotion.models.loading import model_paths_option


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
        output = path_option(cfg.get("output"))  # checked before the minutes of timing, not after them
        if output is not None:
            prepare_output_file(output, f"output={cfg.output}")
    except (ValueError, OSError) as error:
        exit_with_error(str(error))
    hardware = f"{describe_device(cfg.device)}; torch {torch.__version__}"
    load = os.getloadavg()[0]  # timings on a busy machine are slower: the page says how busy it was
    try:
        print(f"Hardware: {hardware}", flush=True)
        rows = [compare_model(path, cfg.device, tuple(cfg.batches), cfg.repeats) for path in model_paths]
    except (ModelFileError, FileNotFoundError) as error:
        exit_with_error(str(error))
    except KeyboardInterrupt:  # the page is written once every file is timed: the earlier one stays as it was
        print("Stopped before every model file was timed: nothing written", file=sys.stderr)
        sys.exit(130)
    table = markdown_table(rows)
    print(table)
    if output is not None:
        output.write_text(models_page(table, hardware, load, os.cpu_count() or 1, cfg.repeats))
        print(f"Wrote {output}")


def models_page(table: str, hardware: str, load: float, cpus: int, repeats: int) -> str:
    """The Markdown page compare_models.py writes: what the columns are, where they were measured, the table."""
    return "\n".join(
        [
            "# The shipped models side by side",
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
