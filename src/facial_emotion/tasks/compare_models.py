"""`python scripts/compare_models.py ['model_paths=[...]']`: a Markdown table comparing model files."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from omegaconf import DictConfig

from facial_emotion.core.hardware import describe_device
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.evaluation.model_comparison import compare_model, markdown_table


def run(cfg: DictConfig) -> None:
    """Print size, accuracy and speed of each model file, beside the hardware."""
    print(f"Hardware: {describe_device(cfg.device)}; torch {torch.__version__}", flush=True)
    try:
        rows = [compare_model(Path(p), cfg.device, tuple(cfg.batches)) for p in cfg.model_paths]
    except (ModelFileError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
    print(markdown_table(rows))
