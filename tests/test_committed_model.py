"""The committed model on the real FER2013 test set (needs ../shared/data/fer2013 or FER_DATA_DIR)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.test_report import evaluate_model_file
from facial_emotion.export.model_file import load_model_file
from facial_emotion.inference.predictor import EmotionPredictor

MODEL = PROJECT_ROOT / "results" / "model" / "my_own_model.pkl"


@pytest.mark.real_data
def test_committed_model_beats_70_percent_and_matches_its_record(real_data_dir: Path) -> None:
    report = evaluate_model_file(EmotionPredictor(MODEL), real_data_dir)
    print(
        f"committed model: test accuracy {100 * report.accuracy:.2f}% "
        f"(PublicTest {100 * report.public_accuracy:.2f}%, PrivateTest {100 * report.private_accuracy:.2f}%)"
    )
    assert report.accuracy > 0.70, f"accuracy {100 * report.accuracy:.2f}% is not above 70%"
    recorded = load_model_file(MODEL).metrics["test/acc"]
    assert report.accuracy == pytest.approx(recorded, abs=0.003)
