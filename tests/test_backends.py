"""ONNX Runtime backends on a tiny exported VGG: agreement with torch, graph cache, stale/edited graphs, fallback."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facial_emotion.core.model_file import update_model_metrics
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.export.exporter import export_model
from facial_emotion.inference.backends import resolve_backend
from facial_emotion.inference.onnx_graph import FP32_TOLERANCE, GraphError, file_sha256, graph_path, network_sha256
from facial_emotion.inference.predictor import EmotionPredictor, checked_device
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.vgg import VGGNet

pytest.importorskip("onnxruntime")


def tiny_model(path: Path, seed: int, widths: tuple[int, ...] = (8, 16)) -> Path:
    torch.manual_seed(seed)
    export_model(VGGNet(widths=widths, convs_per_stage=1), Preprocessing(tta="multi_scale_hflip"), path)
    return path


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    return tiny_model(tmp_path / "tiny.pkl", seed=0)


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (10, 48, 48), dtype=np.uint8)


def fp32_graph(model_path: Path) -> Path:
    return graph_path(model_path, network_sha256(load_model_file(model_path)), "fp32")


@pytest.mark.parametrize("tta", ["center", "multi_scale_hflip", "multi_scale_ten_crop"])
def test_onnxruntime_probabilities_match_torch_fp32(model_path: Path, faces: np.ndarray, tta: str) -> None:
    reference = EmotionPredictor(model_path, tta=tta, bf16=False).predict_proba(faces)
    runtime = EmotionPredictor(model_path, tta=tta, backend="onnxruntime")
    assert (runtime.backend, runtime.precision) == ("onnxruntime", "fp32")
    probabilities = runtime.predict_proba(faces)
    assert probabilities.shape == (10, 7)
    assert np.abs(probabilities - reference).max() < FP32_TOLERANCE


def test_graph_is_cached_beside_the_model_file_and_reused(model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    EmotionPredictor(model_path, backend="onnxruntime")
    graph = fp32_graph(model_path)
    assert graph.parent == model_path.parent / ".cache" and graph.is_file()
    manifest = json.loads(graph.with_suffix(".json").read_text())
    assert manifest["network_sha256"] == network_sha256(load_model_file(model_path))
    assert manifest["graph_sha256"] == file_sha256(graph)
    built = graph.stat().st_mtime_ns
    update_model_metrics(model_path, {"test/acc": 0.5})  # a new figure in the file: same network, same graph
    capsys.readouterr()
    EmotionPredictor(model_path, backend="onnxruntime")
    assert graph.stat().st_mtime_ns == built and "rebuilding" not in capsys.readouterr().err
    assert fp32_graph(model_path) == graph


def test_edited_graph_is_rebuilt_with_one_line(
    model_path: Path, faces: np.ndarray, capsys: pytest.CaptureFixture[str]
) -> None:
    EmotionPredictor(model_path, backend="onnxruntime")
    graph = fp32_graph(model_path)
    other = tiny_model(model_path.parent / "other.pkl", seed=5)
    EmotionPredictor(other, backend="onnxruntime")
    shutil.copy(fp32_graph(other), graph)  # same architecture, other weights: only the hashes can tell
    capsys.readouterr()
    predictor = EmotionPredictor(model_path, backend="onnxruntime")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rebuilding" in err[0] and "changed after it was built" in err[0]
    reference = EmotionPredictor(model_path, bf16=False).predict_proba(faces)
    assert np.abs(predictor.predict_proba(faces) - reference).max() < FP32_TOLERANCE


def test_changed_model_file_gets_a_new_graph_and_the_stale_one_goes(model_path: Path, faces: np.ndarray) -> None:
    EmotionPredictor(model_path, backend="onnxruntime")
    stale = fp32_graph(model_path)
    tiny_model(model_path, seed=7, widths=(8, 16, 16))  # another architecture written over the same file
    predictor = EmotionPredictor(model_path, backend="onnxruntime")
    assert fp32_graph(model_path) != stale and not stale.exists()
    reference = EmotionPredictor(model_path, bf16=False).predict_proba(faces)
    assert np.abs(predictor.predict_proba(faces) - reference).max() < FP32_TOLERANCE


def test_graph_with_forged_manifest_is_refused(model_path: Path) -> None:
    """A graph of other weights whose manifest was rewritten to match: the probability check refuses it."""
    EmotionPredictor(model_path, backend="onnxruntime")
    graph = fp32_graph(model_path)
    other = tiny_model(model_path.parent / "other.pkl", seed=5)
    EmotionPredictor(other, backend="onnxruntime")
    shutil.copy(fp32_graph(other), graph)
    manifest = json.loads(graph.with_suffix(".json").read_text())
    graph.with_suffix(".json").write_text(json.dumps({**manifest, "graph_sha256": file_sha256(graph)}))
    with pytest.raises(GraphError, match="probabilities differ from the model file's") as error:
        EmotionPredictor(model_path, backend="onnxruntime")
    assert "\n" not in str(error.value)


def test_missing_onnxruntime_falls_back_to_torch_with_one_line(
    model_path: Path, faces: np.ndarray, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    predictor = EmotionPredictor(model_path, backend="onnxruntime-int8", bf16=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert predictor.backend == "torch" and len(err) == 1 and "falls back to torch" in err[0]
    assert predictor.predict_proba(faces).shape == (10, 7)


def test_unknown_backend_is_a_one_line_error(model_path: Path) -> None:
    with pytest.raises(ValueError, match="backend must be one of auto, torch, onnxruntime, onnxruntime-int8"):
        EmotionPredictor(model_path, backend="tensorrt")


@pytest.mark.parametrize("amx", [True, False])
def test_auto_runs_onnxruntime_on_every_cpu_kind_and_steps_down_to_fp32_without_a_graph(
    model_path: Path, faces: np.ndarray, amx: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """AMX included: there int8 measured 7x PyTorch bf16 at batch 1 and 3x at batch 256 (results/model/speed.md)."""
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    predictor = EmotionPredictor(model_path, backend="auto")
    err = capsys.readouterr().err.strip().splitlines()
    assert (predictor.backend, predictor.precision) == ("onnxruntime", "fp32")
    assert len(err) == 1 and "no int8 graph built yet" in err[0] and "build_graphs.py" in err[0]
    # The command builds this file's graph: build_graphs.py alone builds the real-face file's only.
    assert f"""build_graphs.py 'model_paths=["{model_path}"]'""" in err[0]
    reference = EmotionPredictor(model_path, backend="torch", bf16=False).predict_proba(faces)
    np.testing.assert_allclose(predictor.predict_proba(faces), reference, atol=FP32_TOLERANCE)
    assert resolve_backend("auto", "cuda") == "torch"
    EmotionPredictor(model_path, tta="center", backend="auto")  # the file again (the API: photos, then video)
    assert capsys.readouterr().err == "", "the note is said once per file"


def test_an_unknown_or_absent_device_is_a_one_line_error() -> None:
    assert checked_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be cpu or cuda .*got 'bogus'"):
        checked_device("bogus")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device=cuda: no CUDA GPU is visible"):
            checked_device("cuda")


def _export_repeatedly(model_path: Path, graph: Path, times: int) -> list[str]:
    """In a process of its own: export the model file's fp32 graph to `graph` `times` times, open each; the errors."""
    from facial_emotion.inference.onnx_graph import export_fp32, new_session

    model, errors = load_model_file(model_path), []
    for _ in range(times):
        try:
            export_fp32(model, graph)
            new_session(graph, 1)
        except Exception as error:  # noqa: BLE001 - any failure is what the test reports
            errors.append(f"{type(error).__name__}: {error}")
    return errors


@pytest.mark.slow
def test_processes_exporting_the_same_graph_at_once_never_fail(model_path: Path) -> None:
    """Two commands building one file's graph at once shared one temporary name: the second rename found it gone
    (FileNotFoundError: '.../tiny.<hash>.fp32.tmp.onnx'), about one export in ten with four processes."""
    import multiprocessing

    graph = graph_path(model_path, network_sha256(load_model_file(model_path)), "fp32")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        errors = pool.starmap(_export_repeatedly, [(model_path, graph, 12)] * 4)
    assert [error for per_process in errors for error in per_process] == []
    assert sorted(p.name for p in graph.parent.iterdir()) == [graph.name]  # no temporary file left behind
    predictor = EmotionPredictor(model_path, backend="onnxruntime")  # no manifest yet: rebuilt, then checked
    assert predictor.predict_proba(np.zeros((2, 48, 48), np.uint8)).shape == (2, 7)
