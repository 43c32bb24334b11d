"""The committed models on the real FER2013 test set (needs ../shared/data/fer2013 or FER_DATA_DIR)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from facial_emotion.core.preprocessing import TTA_MODES
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.test_report import evaluate_model_file
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file
from tests.conftest import FIGURE

MODELS = PROJECT_ROOT / "results" / "model"


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "floor"),
    [("my_own_model.pkl", 0.70), ("pre_trained_model.pkl", 0.65)],
)
def test_committed_model_beats_its_floor_and_matches_its_record(
    real_data_dir: Path, name: str, floor: float, record_property: Callable[[str, object], None]
) -> None:
    predictor = EmotionPredictor(MODELS / name)
    report = evaluate_model_file(predictor, real_data_dir)
    record_property(
        FIGURE,
        f"{name}: test accuracy {100 * report.accuracy:.2f}% ({predictor.tta} views; PublicTest "
        f"{100 * report.public_accuracy:.2f}%, PrivateTest {100 * report.private_accuracy:.2f}%)",
    )
    assert report.accuracy > floor, f"{name}: accuracy {100 * report.accuracy:.2f}% is not above {100 * floor:.0f}%"
    model = load_model_file(MODELS / name)
    assert report.accuracy == pytest.approx(model.metrics["test/acc"], abs=0.003)
    assert set(model.temperatures) == set(TTA_MODES), "the live stream's centre crop needs its own temperature"
