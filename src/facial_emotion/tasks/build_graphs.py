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
from facial_emotion.data.locate import default_data_dir, require_csv
from facial_emotion.inference.backends import onnxruntime_installed
from facial_emotion.inference.onnx_graph import (
    GraphError,
    checked_graph,
    graph_refusal,
    network_sha256,
    ship_graph,
    shipped_graph_path,
)
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file, model_paths_option

_RUNS_FP32 = "; auto runs onnxruntime fp32"  # said only of a file that loads: without one nothing runs


def build_int8(model_path: Path, model: ModelFile, retry_refused: bool) -> tuple[str, bool]:
    """Build the int8 graph of one model file unless it is there (or was refused): one line saying what happened,
    and whether its check refused the graph (now or earlier). A refusal is an outcome, not an error: the file runs
    fp32. Without FER2013 nothing is built: `FileNotFoundError`, an error on every run (not remembered as a refusal).
    """
    model_sha = network_sha256(model)
    found = checked_graph(model_path, model_sha, "int8")
    if found is not None:
        shipped = found == shipped_graph_path(model_path, model_sha, "int8")
        where = "shipped with the model file" if shipped else "already built"
        return f"{model_path.name}: int8 graph {where}", False
    refused = graph_refusal(model_path, model, "int8")
    if refused and not retry_refused:
        return f"{model_path.name}: int8 graph refused earlier ({refused}){_RUNS_FP32} (force=true retries)", True
    try:
        for needed in ("train.csv", "test_with_emotions.csv"):  # calibration (its validation split), the check
            require_csv(default_data_dir(), needed)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"building its int8 graph needs FER2013: {error}") from None
    try:
        EmotionPredictor(model_path, tta="center", backend="onnxruntime-int8")
    except GraphError as error:
        if graph_refusal(model_path, model, "int8") != str(error):
            raise  # not its check's refusal (an fp32 graph that does not match PyTorch): an error
        return f"{model_path.name}: int8 graph refused ({error}){_RUNS_FP32} (force=true retries)", True
    return f"{model_path.name}: int8 graph built and checked", False


def run(cfg: DictConfig) -> int:
    """Build every file's int8 graph; the process exit code: 2 if a file could not be read or its graph could not
    be built or checked (no FER2013), 0 when each was built, found, or refused by its check (that file runs fp32)."""
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
        except (ModelFileError, FileNotFoundError, ValueError) as error:  # no model: nothing runs, fp32 or not
            print(f"error: {path.name}: {error}", file=sys.stderr)
            status = 2
            continue
        try:
            line, refused = build_int8(path, model, retry_refused=force)
            print(line, flush=True)
            if ship and refused:
                raise GraphError("its int8 graph was refused: there is none to ship")
            if ship:
                shipped = ship_graph(path, model, "int8")
                print(f"{path.name}: int8 graph shipped as {shipped} (commit it with the model file)", flush=True)
        except (ModelFileError, FileNotFoundError, ValueError) as error:
            print(f"error: {path.name}: {error}{_RUNS_FP32}", file=sys.stderr)
            status = 2
        except KeyboardInterrupt:  # graphs are renamed into place only once checked: none is left half-built
            print(f"Stopped while building {path.name}'s graph: it was not written", file=sys.stderr)
            return 130
    return status
