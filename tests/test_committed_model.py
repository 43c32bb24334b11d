"""The committed models on the real FER2013 test set (needs ../shared/data/fer2013 or FER_DATA_DIR).

Evaluated with ONNX Runtime fp32, the fastest backend from a fresh clone (no int8 graph to build first; 2x
PyTorch on AVX2): its probabilities are checked within 1e-4 of PyTorch's, so the recorded figure must be met
within 0.1 points. On CI_VIEWS, each file's live view, the one view the live stream, the app and the API run
(`center` for my_own_model_real_faces.pkl, `zoomed_center` for the others; the files' 20 views take ~10 min each
on a 2-core AVX2 CPU even on ONNX Runtime), against the figure the file records for that view
(`python scripts/predict.py model_path=... tta=live backend=onnxruntime record_metrics=true plots_dir=null
report_dir=null`).
The views themselves (crops, order, flips, scales of every mode) are checked in test_preprocessing.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from facial_emotion.core.preprocessing import TTA_MODES
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.test_report import evaluate_model_file
from facial_emotion.inference.backends import ACCURACY_TOLERANCE
from facial_emotion.inference.onnx_graph import (
    INT8_MIN_AGREEMENT,
    SHIPPED_DIR,
    cached_graph_problem,
    network_sha256,
    shipped_graph_path,
)
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file
from tests.conftest import FIGURE

MODELS = PROJECT_ROOT / "results" / "model"
CI_VIEWS = "live"  # each file's live view (Preprocessing.live_view)


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "floor"),
    [("my_own_model.pkl", 0.70), ("my_own_model_real_faces.pkl", 0.70), ("pre_trained_model.pkl", 0.65)],
)
def test_committed_model_beats_its_floor_and_matches_its_record(
    real_data_dir: Path, name: str, floor: float, record_property: Callable[[str, object], None]
) -> None:
    model = load_model_file(MODELS / name)
    predictor = EmotionPredictor(MODELS / name, tta=CI_VIEWS, backend="onnxruntime")
    key = f"test/acc@{predictor.tta}"
    assert key in model.metrics, f"{name} records no {key}: record it with scripts/predict.py (see the docstring)"
    report = evaluate_model_file(predictor, real_data_dir)
    record_property(
        FIGURE,
        f"{name}: test accuracy {100 * report.accuracy:.2f}% ({predictor.tta} views, {predictor.backend} "
        f"{predictor.precision}; PublicTest "
        f"{100 * report.public_accuracy:.2f}%, PrivateTest {100 * report.private_accuracy:.2f}%)",
    )
    assert report.accuracy > floor, f"{name}: accuracy {100 * report.accuracy:.2f}% is not above {100 * floor:.0f}%"
    tolerance = ACCURACY_TOLERANCE[predictor.backend]
    assert report.accuracy == pytest.approx(model.metrics[key], abs=tolerance), (
        f"{name}: {100 * report.accuracy:.2f}% on {predictor.backend} vs the recorded "
        f"{100 * model.metrics[key]:.2f}% (tolerance {100 * tolerance:.1f} points)"
    )
    assert set(model.temperatures) == set(TTA_MODES), "the live stream's centre crop needs its own temperature"


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("name", ["my_own_model.pkl", "my_own_model_real_faces.pkl"])
def test_int8_graph_of_the_shipped_model_keeps_its_accuracy(real_data_dir: Path, name: str) -> None:
    """Calibrated on the validation split (built on first use, minutes): within 0.3 points, >= 99% agreement."""
    reference = evaluate_model_file(EmotionPredictor(MODELS / name, tta="center", bf16=False), real_data_dir)
    int8 = EmotionPredictor(MODELS / name, tta="center", backend="onnxruntime-int8")
    assert int8.precision == "int8"
    report = evaluate_model_file(int8, real_data_dir)
    assert abs(report.accuracy - reference.accuracy) <= ACCURACY_TOLERANCE["onnxruntime-int8"]
    assert (report.probs.argmax(1) == reference.probs.argmax(1)).mean() >= 0.99


def test_the_live_file_ships_the_checked_int8_graph_of_its_current_weights() -> None:
    """What a fresh clone and the wheel run at once; re-shipping the file without it would put them back on fp32."""
    path = MODELS / "my_own_model_real_faces.pkl"
    model_sha = network_sha256(load_model_file(path))
    graph = shipped_graph_path(path, model_sha, "int8")
    assert graph.is_file(), f"{graph.name} missing: python scripts/build_graphs.py ship=true, then commit it"
    assert cached_graph_problem(graph, model_sha) is None
    check = json.loads(graph.with_suffix(".json").read_text())["check"]
    assert check["test_faces"] == 7178 and check["test_top1_agreement"] >= INT8_MIN_AGREEMENT
    assert sorted(p.name for p in (MODELS / SHIPPED_DIR).iterdir()) == sorted([graph.name, f"{graph.stem}.json"])
