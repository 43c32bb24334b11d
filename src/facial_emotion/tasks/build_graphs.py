"""What scripts/build_graphs.py does: build, once, the int8 ONNX Runtime graph `backend=auto` runs on the CPU.

Building it takes FER2013 and 2-4 minutes (calibration on the validation split, then the agreement check on the
test set), which `auto` never spends by itself at a stream's start; `make run` and `make serve` call this first.
A graph shipped beside the model file (`results/model/graphs/`) is used as it is. `ship=true` copies the checked
graph there, to be committed with the model file when publishing one (docs/training.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.model_file import ModelFile, ModelFileError
from facial_emotion.core.options import OptionError, flag
from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.backends import onnxruntime_installed
from facial_emotion.inference.onnx_graph import (
    checked_graph,
    graph_refusal,
    network_sha256,
    ship_graph,
    shipped_graph_path,
)
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file, model_paths_option


def build_int8(model_path: Path, model: ModelFile, retry_refused: bool) -> str:
    """Build the int8 graph of one model file unless it is there (or was refused); one line saying what happened."""
    model_sha = network_sha256(model)
    found = checked_graph(model_path, model_sha, "int8")
    if found is not None:
        shipped = found == shipped_graph_path(model_path, model_sha, "int8")
        return f"{model_path.name}: int8 graph " + ("shipped with the model file" if shipped else "already built")
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
    try:
        force, ship = flag(cfg, "force"), flag(cfg, "ship")
        model_paths = model_paths_option(cfg.model_paths)
    except OptionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = 0
    for path in model_paths:
        try:
            model = load_model_file(path)
            print(build_int8(path, model, retry_refused=force), flush=True)
            if ship:
                shipped = ship_graph(path, model, "int8")
                print(f"{path.name}: int8 graph shipped as {shipped} (commit it with the model file)", flush=True)
        except (ModelFileError, FileNotFoundError, ValueError) as error:
            print(f"error: {path.name}: {error}; auto runs onnxruntime fp32", file=sys.stderr)
            status = 2
        except KeyboardInterrupt:  # graphs are renamed into place only once checked: none is left half-built
            print(f"Stopped while building {path.name}'s graph: it was not written", file=sys.stderr)
            return 130
    return status
