"""ONNX graphs derived from a model file: exported, checked against PyTorch, cached beside the file.

The model file stays the one source of truth. Its network is exported to `<dir>/.cache/<stem>.<hash>.<precision>.onnx`
(git-ignored), keyed by the SHA-256 of the file's network content (architecture, weights, input normalisation;
not its metrics or temperatures, so recording a figure or recalibrating keeps the graph); a manifest beside the
graph records both hashes and the check it passed. A graph whose hashes do not match (other weights, the graph
was edited, the manifest is missing, an int8 graph quantized by an older recipe) is rebuilt, never used; a graph
that fails its check is refused with `GraphError`.

Checks: fp32 probabilities within 1e-4 of PyTorch's on fixed inputs (at build time and on every load); int8
top-1 agreement >= 99% with the fp32 graph on the centre views of the whole FER2013 test set (at build time).

Shipped graphs: a checked graph and its manifest may also lie in `graphs/` beside the model file (committed with
it and bundled in wheels: `scripts/build_graphs.py ship=true` puts them there), so that a fresh clone or an
installed package runs int8 at once, without FER2013 or the minutes of building. It is used only when the cache
has no checked graph, under the same hash checks; a shipped graph that fails them is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facial_emotion.core.model_file import ModelFile, ModelFileError
from facial_emotion.core.whole_files import private_temp_path, write_whole
from facial_emotion.data.locate import BUNDLE_DIR, user_cache_dir

log = logging.getLogger(__name__)

FP32_TOLERANCE = 1e-4  # max |probability difference| of an fp32 graph vs PyTorch fp32
INT8_MIN_AGREEMENT = 0.99  # top-1 agreement of an int8 graph with PyTorch fp32 on the test set
# How int8 graphs are quantized (inference/int8.py), recorded in their manifests: a cached graph or refusal made
# with another recipe is rebuilt (earlier graphs had full-range weights, which saturate on CPUs without VNNI).
INT8_RECIPE = "QDQ, int8 activations, per-channel 7-bit (reduce_range) weights, MinMax calibration"
CHECK_VIEWS = 32  # fixed inputs compared on every load of an fp32 graph
INPUT_NAME = "views"
SHIPPED_DIR = "graphs"  # beside a model file: its checked graphs, committed and bundled with it


class GraphError(ModelFileError):
    """An exported graph cannot be built or does not match its model file (scripts print it as one line)."""


class GraphDataMissingError(GraphError):
    """An int8 graph cannot be calibrated or checked here: FER2013 is missing. Not a refusal of the graph: nothing
    is remembered, and the next build with the data tries again."""


# The words of such a build's reason (inference/int8.py): records of them written before they were told apart are
# not refusals either.
DATA_MISSING_MARK = "needs FER2013"


def write_text_whole(path: Path, text: str) -> None:
    """Write `text` to `path` through a private temporary file: a reader never sees half a manifest."""
    write_whole(path, lambda tmp: tmp.write_text(text))


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def network_sha256(model: ModelFile) -> str:
    """Hex SHA-256 of what a graph is derived from: architecture, every weight tensor, crop, normalisation, tone."""
    prep = model.preprocessing
    # The tone only where recorded, so files without one keep the hashes (and cached graphs) they had.
    tone = [list(prep.tone)] if prep.tone is not None else []
    described = [model.architecture, prep.input_size, prep.crop_size, prep.mean, prep.std, *tone]
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode())
    for name, tensor in sorted(model.net.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def cache_dir_for(model_path: Path) -> Path:
    """`.cache/` beside the model file (git-ignored); the user cache dir where that is not writable and for the
    files an installed package ships (a graph written into site-packages would outlive `pip uninstall`)."""
    resolved = Path(model_path).resolve()
    if not resolved.is_relative_to(BUNDLE_DIR):
        beside = resolved.parent / ".cache"
        try:
            beside.mkdir(parents=True, exist_ok=True)
            probe = beside / ".write-probe"
            probe.touch()
            probe.unlink()
            return beside
        except OSError:
            pass
    fallback = user_cache_dir("graphs")
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def graph_name(model_path: Path, model_sha: str, precision: str) -> str:
    """`<stem>.<hash prefix>.<precision>.onnx`: the file name of a graph, cached or shipped."""
    return f"{Path(model_path).stem}.{model_sha[:16]}.{precision}.onnx"


def graph_path(model_path: Path, model_sha: str, precision: str) -> Path:
    """Where the `precision` graph of the model file with hash `model_sha` is cached."""
    return cache_dir_for(model_path) / graph_name(model_path, model_sha, precision)


def shipped_graph_path(model_path: Path, model_sha: str, precision: str) -> Path:
    """Where a checked `precision` graph shipped with the model file lies (`graphs/` beside it)."""
    return Path(model_path).resolve().parent / SHIPPED_DIR / graph_name(model_path, model_sha, precision)


def check_views(model: ModelFile, count: int = CHECK_VIEWS) -> torch.Tensor:
    """Fixed, seeded network inputs (count, 1, crop, crop) in the range real normalised faces take."""
    prep = model.preprocessing
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (count, 1, prep.crop_size, prep.crop_size), generator=generator)
    return (pixels.float() / 255.0 - prep.mean) / prep.std


def torch_logits(model: ModelFile, views: torch.Tensor, batch: int = 256) -> np.ndarray:
    """fp32 PyTorch logits of the model file's network (the reference every graph is checked against)."""
    with torch.inference_mode():
        return torch.cat([model.net.float()(views[i : i + batch]) for i in range(0, len(views), batch)]).numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def new_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session over the graph at `path` with `threads` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Idle intra-op threads sleep instead of spinning: the classifier shares two cores with the detector thread
    # (and the app's clients with each other), and spinning threads took their CPU. analyze_video on a
    # 2-core Xeon under load: 37 vs 47 ms CPU per frame, 26 vs 19 frames/s.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_session(session: Any, views: np.ndarray) -> np.ndarray:
    """Logits of a session for float32 (N, 1, crop, crop) views."""
    return session.run(None, {INPUT_NAME: np.ascontiguousarray(views, dtype=np.float32)})[0]


def fp32_difference(session: Any, model: ModelFile) -> float:
    """Largest |probability| difference between the graph and PyTorch on the fixed check inputs."""
    views = check_views(model)
    return float(np.abs(softmax(run_session(session, views.numpy())) - softmax(torch_logits(model, views))).max())


def export_fp32(model: ModelFile, path: Path) -> None:
    """torch.onnx.export of the network with a dynamic batch dimension, written atomically to `path`.

    The TorchScript exporter takes ~0.5 s where the dynamo exporter takes ~10-20 s for the same graph (and
    the same probabilities, which are checked either way); dynamo is the fallback for networks it cannot trace.
    """
    crop = model.preprocessing.crop_size
    example = torch.zeros(2, 1, crop, crop)
    net = model.net.float().eval()
    tmp = private_temp_path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                net,
                (example,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=["logits"],
                dynamic_axes={INPUT_NAME: {0: "batch"}},
                dynamo=False,
            )
        except Exception:  # noqa: BLE001 - any tracing failure: try the other exporter
            program = torch.onnx.export(
                net,
                (example,),
                input_names=[INPUT_NAME],
                output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                dynamo=True,
                verbose=False,
            )
            program.save(str(tmp))
    try:
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_manifest(path: Path) -> dict[str, Any] | None:
    manifest = path.with_suffix(".json")
    try:
        return json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None


def write_manifest(path: Path, model_sha: str, precision: str, check: dict[str, float]) -> None:
    import onnxruntime as ort

    record = {
        "network_sha256": model_sha,
        "graph_sha256": file_sha256(path),
        "precision": precision,
        "check": check,
        **({"recipe": INT8_RECIPE} if precision == "int8" else {}),
        "onnxruntime": ort.__version__,
        "torch": torch.__version__,
    }
    write_text_whole(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")


def cached_graph_problem(path: Path, model_sha: str) -> str | None:
    """None when the cached graph at `path` is the one its manifest describes for this model file, else why not."""
    manifest = read_manifest(path)
    if not path.is_file():
        if not path.with_suffix(".json").is_file():
            return None
        refused = manifest is not None and "refused" in manifest
        return "an earlier build was refused (retrying)" if refused else "its graph file is missing"
    if manifest is None:
        return "it has no readable manifest"
    if manifest.get("network_sha256") != model_sha:
        return "it was built from other weights or another architecture"
    if manifest.get("graph_sha256") != file_sha256(path):
        return "the graph file was changed after it was built"
    if manifest.get("precision") == "int8" and older_int8_recipe(manifest):
        return "it was quantized with an older recipe (full-range weights saturate on CPUs without VNNI)"
    return None


def older_int8_recipe(manifest: dict) -> bool:
    """True when an int8 graph's (or refusal's) manifest names no recipe or another one than INT8_RECIPE."""
    return manifest.get("recipe") != INT8_RECIPE


def checked_graph(model_path: Path, model_sha: str, precision: str) -> Path | None:
    """The built and checked `precision` graph to run: the cached one, else the one shipped beside the model file."""
    for path in (graph_path(model_path, model_sha, precision), shipped_graph_path(model_path, model_sha, precision)):
        if path.is_file() and cached_graph_problem(path, model_sha) is None:
            return path
    return None


def checked_graph_available(model_path: Path, model: ModelFile, precision: str) -> bool:
    """A built and checked `precision` graph of the model file is cached or shipped with it (nothing to build)."""
    return checked_graph(model_path, network_sha256(model), precision) is not None


def graph_refusal(model_path: Path, model: ModelFile, precision: str) -> str | None:
    """Why building this network's `precision` graph was refused, if it was (an explicit backend retries)."""
    manifest = read_manifest(graph_path(model_path, network_sha256(model), precision))
    if not manifest or (precision == "int8" and older_int8_recipe(manifest)):
        return None
    refused = manifest.get("refused")
    return None if refused and DATA_MISSING_MARK in refused else refused


def ship_graph(model_path: Path, model: ModelFile, precision: str) -> Path:
    """Copy the checked cached `precision` graph and its manifest into `graphs/` beside the model file (to commit
    with it), removing graphs shipped for earlier versions of the file; the shipped graph's path."""
    model_sha = network_sha256(model)
    source = checked_graph(model_path, model_sha, precision)
    if source is None:
        raise GraphError(f"{model_path}: no checked {precision} graph to ship (build it first)")
    target = shipped_graph_path(model_path, model_sha, precision)
    if source != target:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        shutil.copyfile(source.with_suffix(".json"), target.with_suffix(".json"))
    remove_stale_graphs(model_path, target, precision)
    return target


def remove_stale_graphs(model_path: Path, keep: Path, precision: str) -> None:
    """Delete graphs (and manifests) of older versions of this model file."""
    for old in keep.parent.glob(f"{Path(model_path).stem}.*.{precision}.onnx"):
        if old != keep:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)


def load_graph_session(model_path: Path, model: ModelFile, precision: str, threads: int) -> Any:
    """An ONNX Runtime session for the model file at `model_path`, building and checking the graph when needed."""
    model_sha = network_sha256(model)
    path = checked_graph(model_path, model_sha, precision)
    if path is None:
        path = graph_path(model_path, model_sha, precision)
        problem = cached_graph_problem(path, model_sha)
        if problem is not None:
            print(f"note: rebuilding the cached {precision} graph {path.name}: {problem}", file=sys.stderr)
        build_graph(model_path, model, precision, path, model_sha)
    session = new_session(path, threads)
    if precision == "fp32":
        difference = fp32_difference(session, model)
        if difference > FP32_TOLERANCE:
            raise GraphError(
                f"{path}: probabilities differ from the model file's by {difference:.2e} (> {FP32_TOLERANCE}); "
                "delete the graph to rebuild it"
            )
    return session


def build_graph(model_path: Path, model: ModelFile, precision: str, path: Path, model_sha: str) -> None:
    """Export (and for int8 quantize) the network into `path`, check it, write its manifest."""
    if precision == "fp32":
        export_fp32(model, path)
        difference = fp32_difference(new_session(path, torch.get_num_threads()), model)
        if difference > FP32_TOLERANCE:
            path.unlink(missing_ok=True)
            raise GraphError(
                f"the exported graph of {model_path} differs from PyTorch by {difference:.2e} (> {FP32_TOLERANCE})"
            )
        check = {"max_probability_difference": difference}
    elif precision == "int8":
        from facial_emotion.inference.int8 import quantize_and_check  # needs the FER data; imported on demand

        fp32_path = graph_path(model_path, model_sha, "fp32")
        if cached_graph_problem(fp32_path, model_sha) is not None or not fp32_path.is_file():
            build_graph(model_path, model, "fp32", fp32_path, model_sha)
        try:
            check = quantize_and_check(model, fp32_path, path)
        except GraphDataMissingError:
            raise  # no verdict on the graph: built again once the data is there
        except GraphError as error:  # remembered, so that `auto` says why it stays on fp32 instead of retrying
            refusal = {"network_sha256": model_sha, "recipe": INT8_RECIPE, "refused": str(error)}
            write_text_whole(path.with_suffix(".json"), json.dumps(refusal))
            raise
    else:
        raise GraphError(f"unknown graph precision {precision!r}")
    write_manifest(path, model_sha, precision, check)
    remove_stale_graphs(model_path, path, precision)
    # The model file, not the graph's path: an export fits its temperatures with the graph of a side copy (of the
    # final file's name) in a temporary folder, deleted right after, so that path named nothing left to find.
    log.info("built the %s graph of %s (%s)", precision, Path(model_path).name, check)
