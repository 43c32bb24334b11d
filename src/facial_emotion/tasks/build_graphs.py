"""What scripts/build_graphs.py does: build, once, the int8 ONNX Runtime graph `backend=auto` runs on the CPU.

Building it takes FER2013 and 2-4 minutes (calibration on the validation split, then the agreement check on the
test set), which `auto` never spends by itself at a stream's start; `make run` and `make serve` call this first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.backends import onnxruntime_installed
from facial_emotion.inference.onnx_graph import checked_graph_cached, graph_refusal
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file


def build_int8(model_path: Path, retry_refused: bool) -> str:
    """Build the int8 graph of one model file unless it is there (or was refused); one line saying what happened."""
    model = load_model_file(model_path)
    if checked_graph_cached(model_path, model, "int8"):
        return f"{model_path.name}: int8 graph already built"
    refused = graph_refusal(model_path, model, "int8")
    if refused and not retry_refused:
        return f"{model_path.name}: int8 graph refused earlier ({refused}); auto runs fp32 (force=true retries)"
    EmotionPredictor(model_path, tta="center", backend="onnxruntime-int8")
    return f"{model_path.name}: int8 graph built and checked"


def run(cfg: DictConfig) -> int:
    """Build every file's int8 graph; the process exit code (2 if one could not be)."""
    expand_home(cfg)
    if not onnxruntime_installed():
        print("error: build_graphs: onnxruntime is not installed (make setup installs it)", file=sys.stderr)
        return 2
    status = 0
    for path in map(Path, cfg.model_paths):
        try:
            print(build_int8(path, retry_refused=cfg.force), flush=True)
        except (ModelFileError, FileNotFoundError, ValueError) as error:
            print(f"error: {path.name}: {error}; auto runs onnxruntime fp32", file=sys.stderr)
            status = 2
    return status
