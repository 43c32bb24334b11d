"""scripts/build_graphs.py: the int8 graph auto runs, built once from FER2013; refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.export.exporter import export_model
from facial_emotion.inference.onnx_graph import (
    INT8_RECIPE,
    SHIPPED_DIR,
    GraphDataMissingError,
    graph_path,
    graph_refusal,
    network_sha256,
)
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks import build_graphs

pytest.importorskip("onnxruntime")


def tiny_model(path: Path, decided: bool) -> Path:
    """A random tiny VGG; `decided`: its head prefers Happy by a wide margin, so int8 agrees with fp32 on every face
    (a random one's near-ties flip under quantization: it is refused)."""
    torch.manual_seed(0)
    net = VGGNet(widths=(8, 16), convs_per_stage=1)
    if decided:
        with torch.no_grad():
            net.head[-1].bias.copy_(torch.tensor([0.0, 0.0, 0.0, 8.0, 0.0, 0.0, 0.0]))
    export_model(net, Preprocessing(tta="center"), path)
    return path


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    return tiny_model(tmp_path / "tiny.pkl", decided=True)


def int8_graph(model_path: Path) -> Path:
    return graph_path(model_path, network_sha256(load_model_file(model_path)), "int8")


def config(model_path: Path, force: bool = False, ship: bool = False):
    return OmegaConf.create({"model_paths": [str(model_path)], "force": force, "ship": ship})


def test_builds_the_int8_graph_once_from_fer2013(
    model_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    assert build_graphs.run(config(model_path)) == 0
    assert "tiny.pkl: int8 graph built and checked" in capsys.readouterr().out
    assert int8_graph(model_path).is_file()
    built_at = int8_graph(model_path).stat().st_mtime_ns
    assert build_graphs.run(config(model_path)) == 0  # the second call finds it
    assert "tiny.pkl: int8 graph already built" in capsys.readouterr().out
    assert int8_graph(model_path).stat().st_mtime_ns == built_at


def test_a_refused_graph_is_reported_then_not_rebuilt_unless_forced(
    tmp_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refusal is an outcome, the same on every run: one line, exit 0 (the file runs fp32). The first run exited 2
    with an error line, the second (the refusal remembered) 0 with a plain one."""
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    undecided = tiny_model(tmp_path / "undecided.pkl", decided=False)
    assert build_graphs.run(config(undecided)) == 0
    first = capsys.readouterr()
    assert "error" not in first.err
    assert len(first.out.splitlines()) == 1 and first.out.startswith("undecided.pkl: int8 graph refused (")
    assert "agrees with the fp32 one" in first.out and "< 99%" in first.out
    assert "auto runs onnxruntime fp32 (force=true retries)" in first.out
    assert not int8_graph(undecided).exists()
    assert build_graphs.run(config(undecided)) == 0  # make run must not spend the calibration again
    second = capsys.readouterr()
    assert "error" not in second.err and len(second.out.splitlines()) == 1
    assert second.out.startswith("undecided.pkl: int8 graph refused earlier (") and "< 99%" in second.out
    assert "auto runs onnxruntime fp32 (force=true retries)" in second.out
    assert build_graphs.run(config(undecided, force=True)) == 0  # retried, refused again
    assert capsys.readouterr().out.startswith("undecided.pkl: int8 graph refused (")
    assert build_graphs.run(config(undecided, ship=True)) == 2  # nothing to ship: what was asked cannot be done
    shipped = capsys.readouterr()
    assert "refused earlier" in shipped.out and shipped.err.count("\n") == 1 and "none to ship" in shipped.err


def test_without_fer2013_it_says_why_in_one_line_and_fails(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no_data"))
    assert build_graphs.run(config(model_path)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "train.csv" in error and "fp32" in error
    assert not int8_graph(model_path).exists()


def test_ship_and_force_are_read_as_yes_or_no(model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(model_path)
    cfg.ship = "maybe"
    assert build_graphs.run(cfg) == 2  # before any graph is built
    assert capsys.readouterr().err == "error: ship must be true or false, got 'maybe'\n"
    assert not int8_graph(model_path).exists()


def test_int8_weights_use_the_7_bit_range_that_cannot_saturate(
    model_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without VNNI the int8 kernels sum pairs of uint8 x int8 products in 16 bits: |w| <= 64 keeps them exact."""
    import onnx
    from onnx import numpy_helper

    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    assert build_graphs.run(config(model_path)) == 0
    graph = onnx.load(str(int8_graph(model_path))).graph
    weights = [numpy_helper.to_array(t) for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    conv_weights = [w for w in weights if w.ndim == 4]
    assert len(conv_weights) == 2  # the tiny VGG's two convolutions
    assert all(np.abs(w.astype(int)).max() <= 64 for w in conv_weights)
    assert max(np.abs(w.astype(int)).max() for w in conv_weights) >= 60  # the range is used, not collapsed


def test_a_graph_or_refusal_of_an_older_recipe_is_rebuilt(
    model_path: Path,
    tmp_path: Path,
    fer_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    assert build_graphs.run(config(model_path)) == 0
    manifest_path = int8_graph(model_path).with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({key: value for key, value in manifest.items() if key != "recipe"}))
    capsys.readouterr()
    assert build_graphs.run(config(model_path)) == 0
    captured = capsys.readouterr()
    assert "int8 graph built and checked" in captured.out and "older recipe" in captured.err
    assert json.loads(manifest_path.read_text())["recipe"] == manifest["recipe"]

    undecided = tiny_model(tmp_path / "undecided.pkl", decided=False)
    refusal = int8_graph(undecided).with_suffix(".json")
    refusal.parent.mkdir(parents=True, exist_ok=True)
    refusal.write_text(json.dumps({"network_sha256": network_sha256(load_model_file(undecided)), "refused": "old"}))
    assert build_graphs.run(config(undecided)) == 0  # calibrated and checked again, not "refused earlier"
    assert "int8 graph refused (the int8 graph agrees with the fp32 one" in capsys.readouterr().out


def shipped_graph(model_path: Path) -> Path:
    return model_path.parent / SHIPPED_DIR / int8_graph(model_path).name


def test_a_shipped_graph_runs_at_once_without_fer2013(
    model_path: Path, tmp_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """What a fresh clone or an installed wheel gets: the graph committed beside the file, no data, no build."""
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    faces = np.random.default_rng(3).integers(0, 256, (6, 48, 48), dtype=np.uint8)
    stale = model_path.parent / SHIPPED_DIR / "tiny.0123456789abcdef.int8.onnx"  # a graph of an older version
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    assert build_graphs.run(config(model_path, ship=True)) == 0
    assert f"int8 graph shipped as {shipped_graph(model_path)}" in capsys.readouterr().out
    assert shipped_graph(model_path).read_bytes() == int8_graph(model_path).read_bytes()
    assert shipped_graph(model_path).with_suffix(".json").is_file() and not stale.exists()
    built = EmotionPredictor(model_path, tta="center", backend="onnxruntime-int8").predict_proba(faces)

    shutil.rmtree(int8_graph(model_path).parent)  # the cache gone, FER2013 gone
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no_data"))
    predictor = EmotionPredictor(model_path, tta="center", backend="auto")
    assert predictor.precision == "int8" and capsys.readouterr().err == ""
    np.testing.assert_array_equal(predictor.predict_proba(faces), built)
    assert not int8_graph(model_path).exists()  # run from where it was shipped, not copied
    assert build_graphs.run(config(model_path)) == 0
    assert "tiny.pkl: int8 graph shipped with the model file" in capsys.readouterr().out


def test_a_shipped_graph_that_does_not_match_its_file_is_ignored(
    model_path: Path, tmp_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    assert build_graphs.run(config(model_path, ship=True)) == 0
    shutil.rmtree(int8_graph(model_path).parent)
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no_data"))
    graph = shipped_graph(model_path)
    graph.write_bytes(graph.read_bytes()[:-1] + b"\0")  # edited after it was checked
    capsys.readouterr()
    predictor = EmotionPredictor(model_path, tta="center", backend="auto")
    err = capsys.readouterr().err.strip().splitlines()
    assert predictor.precision == "fp32" and len(err) == 1 and "no int8 graph built yet" in err[0]


def test_shipping_without_a_checked_graph_is_a_one_line_error(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no_data"))
    assert build_graphs.run(config(model_path, ship=True)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "tiny.pkl" in error and "train.csv" in error
    assert not (model_path.parent / SHIPPED_DIR).exists()


def test_one_model_path_without_brackets_is_that_file(
    model_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`model_paths=a.pkl` was read character by character: 'error: t: model file not found: t', then i, n, y..."""
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    assert build_graphs.run(OmegaConf.create({"model_paths": str(model_path), "force": False, "ship": False})) == 0
    assert capsys.readouterr().out == "tiny.pkl: int8 graph built and checked\n"
    assert int8_graph(model_path).is_file()
    for given, message in ((5, "error: 5: model file not found: 5\n"), ([], "error: model_paths is empty")):
        assert build_graphs.run(OmegaConf.create({"model_paths": given, "force": False, "ship": False})) == 2
        error = capsys.readouterr().err  # model_paths=5 was "TypeError: 'int' object is not iterable"
        assert error.startswith(message) and error.count("\n") == 1


@pytest.mark.parametrize("name", ["missing.pkl", "last.ckpt", "notes.txt"])
def test_without_a_model_the_error_does_not_say_auto_runs_fp32(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not found, a checkpoint, not a model file: nothing runs, fp32 or not (each ended '; auto runs onnxruntime
    fp32')."""
    path = tmp_path / name
    if name != "missing.pkl":
        path.write_text("not a model file\n")
    assert build_graphs.run(config(path)) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {name}: ") and error.count("\n") == 1 and "fp32" not in error


def test_without_fer2013_nothing_is_remembered_and_every_run_is_an_error(
    model_path: Path, tmp_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A build without the data was remembered as a refusal: the next run said 'refused earlier' (exit 0), and kept
    saying it once the data was there. Missing data is an error on every run; an old record of one is retried."""
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no_data"))
    for _ in range(2):
        assert build_graphs.run(config(model_path)) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "needs FER2013" in error and error.endswith("auto runs onnxruntime fp32\n")
    assert not int8_graph(model_path).with_suffix(".json").exists()
    record = {"network_sha256": network_sha256(load_model_file(model_path)), "recipe": INT8_RECIPE}
    int8_graph(model_path).parent.mkdir(parents=True, exist_ok=True)
    int8_graph(model_path).with_suffix(".json").write_text(
        json.dumps({**record, "refused": "int8 calibration needs FER2013's train.csv for its validation split: ..."})
    )
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    assert build_graphs.run(config(model_path)) == 0
    assert capsys.readouterr().out == "tiny.pkl: int8 graph built and checked\n"


def test_an_int8_build_without_fer2013_anywhere_is_not_remembered_as_a_refusal(
    model_path: Path, tmp_path: Path, fer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`backend=onnxruntime-int8` in any command without the data wrote a refusal record: `auto` then said 'its
    int8 graph was refused (int8 calibration needs FER2013 ...)' and never built it, data or not."""
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no_data"))
    with pytest.raises(GraphDataMissingError, match="needs FER2013"):
        EmotionPredictor(model_path, tta="center", backend="onnxruntime-int8")
    assert not int8_graph(model_path).with_suffix(".json").exists()
    assert graph_refusal(model_path, load_model_file(model_path), "int8") is None
    monkeypatch.setenv("FER_DATA_DIR", str(fer_dir))
    assert EmotionPredictor(model_path, tta="center", backend="onnxruntime-int8").backend == "onnxruntime-int8"
