"""Early exit through the test-time views: the policy text, the cascade, its choice, the predictor, predict.py."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facial_emotion.core.calibration import mean_view_probabilities
from facial_emotion.core.early_exit import (
    cascade_probabilities,
    choose_early_exit,
    format_early_exit,
    parse_early_exit,
)
from facial_emotion.core.model_file import save_model_file
from facial_emotion.core.preprocessing import ALL_VIEWS, TTA_MODES, Preprocessing, views_within_all
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.export.temperatures import record_early_exit
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.vgg import VGGNet

POLICY = "zoomed_center@0.8,multi_scale_hflip@0.5"


def test_policy_text_round_trips_and_bad_text_is_one_line() -> None:
    stages = parse_early_exit(POLICY)
    assert stages == (("zoomed_center", 0.8), ("multi_scale_hflip", 0.5))
    assert format_early_exit(stages) == POLICY
    assert parse_early_exit("none") == parse_early_exit("") == parse_early_exit(None) == ()
    for bad, names in [("five_crop@0.5", "five_crop"), ("center", "confidence"), ("center@1.5", "between 0 and 1")]:
        with pytest.raises(ValueError, match=names) as error:
            parse_early_exit(bad)
        assert "\n" not in str(error.value)


def synthetic_views(num_faces: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(num_faces, 20, 7, generator=torch.Generator().manual_seed(seed)) * 2


def test_cascade_stops_sure_faces_early_and_runs_each_view_once() -> None:
    every_view = synthetic_views(50)
    asked: list[tuple[int, int]] = []

    def logits_for(faces: torch.Tensor, views: list[int]) -> torch.Tensor:
        asked.extend((int(face), view) for face in faces for view in views)
        return every_view[faces][:, views]

    temperatures = {"zoomed_center": 0.8, "multi_scale_hflip": 0.7, ALL_VIEWS: 0.6}
    stages = parse_early_exit("zoomed_center@0.6,multi_scale_hflip@0.5")
    result = cascade_probabilities(50, logits_for, stages, ALL_VIEWS, temperatures.__getitem__)

    assert len(asked) == len(set(asked)) == result.views_computed  # no view of a face twice
    for number, (mode, confidence) in enumerate([*stages, (ALL_VIEWS, 0.0)]):
        stopped = result.stopped_at == number
        expected = mean_view_probabilities(every_view[stopped][:, views_within_all(mode)], temperatures[mode])
        assert torch.allclose(result.probabilities[stopped], expected)
        assert (expected.amax(-1) >= confidence).all()
        raw = mean_view_probabilities(every_view[stopped][:, views_within_all(mode)], 1.0)
        assert torch.allclose(result.uncalibrated[stopped], raw)
    # A face goes on only where it was unsure, and runs every view of its last stage exactly once.
    first = mean_view_probabilities(every_view[:, [14]], 0.8).amax(-1)
    assert torch.equal(result.stopped_at > 0, first < 0.6)
    per_face = {face: sum(1 for f, _ in asked if f == face) for face in range(50)}
    assert [per_face[f] for f in range(50)] == [[1, 4, 20][int(s)] for s in result.stopped_at]
    assert 0 < (result.stopped_at == 0).sum() < 50 and (result.stopped_at == 2).any()


def test_exit_temperatures_change_what_is_reported_not_who_stops() -> None:
    every_view = synthetic_views(60, seed=5)
    stages = parse_early_exit("center@0.6")

    def logits_for(faces: torch.Tensor, views: list[int]) -> torch.Tensor:
        return every_view[faces][:, views]

    at_modes = cascade_probabilities(60, logits_for, stages, ALL_VIEWS, lambda mode: 1.0)
    at_exits = cascade_probabilities(60, logits_for, stages, ALL_VIEWS, lambda mode: 1.0, (2.0, 0.5))
    assert torch.equal(at_modes.stopped_at, at_exits.stopped_at)
    first, last = at_exits.stopped_at == 0, at_exits.stopped_at == 1
    assert torch.allclose(at_exits.probabilities[first], mean_view_probabilities(every_view[first][:, [4]], 2.0))
    assert torch.allclose(
        at_exits.probabilities[last], mean_view_probabilities(every_view[last][:, views_within_all(ALL_VIEWS)], 0.5)
    )


def test_choice_keeps_the_agreement_and_takes_the_cheapest() -> None:
    views = synthetic_views(400, seed=1)
    labels = torch.randint(0, 7, (400,), generator=torch.Generator().manual_seed(2))
    # Every view says what the 20 say, more surely each time: one view is enough for every face.
    agreeing = views.mean(1, keepdim=True).expand(-1, 20, -1) * 30
    choice = choose_early_exit(agreeing, labels, ALL_VIEWS, lambda mode: 1.0)
    assert choice.agreement == 1.0 and choice.views_per_face < 1.5
    assert len(choice.stages) == 1 and choice.stages[0][0] in ("zoomed_center", "center")
    assert len(choice.exit_temperatures) == 2 and all(t > 0 for t in choice.exit_temperatures)
    # Independent views: one or four of them rarely say what the 20 say, so little or nothing is cheaper.
    noisy = choose_early_exit(views, labels, ALL_VIEWS, lambda mode: 1.0)
    assert noisy.agreement >= 0.995 and noisy.views_per_face > 10


@pytest.mark.parametrize("live_view", ["zoomed_center", "center", "hflip"])
def test_a_chosen_policy_is_recorded_in_the_model_file_and_read_back(tmp_path: Path, live_view: str) -> None:
    path = tmp_path / "tiny.pkl"
    preprocessing = Preprocessing(tta=ALL_VIEWS, live_view=live_view)
    model = export_model(VGGNet(widths=(8, 16), convs_per_stage=1), preprocessing, path)
    agreeing = synthetic_views(300, seed=6).mean(1, keepdim=True).expand(-1, 20, -1) * 30
    labels = agreeing[:, 0].argmax(-1).numpy()
    choice = record_early_exit(model, agreeing, labels)
    save_model_file(path, model)
    reloaded = load_model_file(path).preprocessing
    assert parse_early_exit(reloaded.early_exit) == choice.stages != ()
    assert choice.stages[0][0] == live_view  # sure faces stop at the file's live view
    assert reloaded.early_exit_temperatures == pytest.approx(choice.exit_temperatures)
    assert len(reloaded.early_exit_temperatures) == len(choice.stages) + 1


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("early_exit") / "tiny.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta=ALL_VIEWS), path)
    model = load_model_file(path)
    model.temperatures = dict.fromkeys(TTA_MODES, 0.03)  # an untrained net is then sure of about half the faces
    model.preprocessing = dataclasses.replace(
        model.preprocessing, early_exit="zoomed_center@0.92", early_exit_temperatures=(0.03, 0.03)
    )
    save_model_file(path, model)
    return path


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (100, 48, 48), dtype=np.uint8)


def test_predictor_takes_the_files_policy_only_with_its_own_views(model_path: Path, faces: np.ndarray) -> None:
    every_view = EmotionPredictor(model_path, early_exit="none", bf16=False)
    early = EmotionPredictor(model_path, early_exit="file", bf16=False)
    one_view = EmotionPredictor(model_path, tta="zoomed_center", bf16=False)
    assert every_view.early_exit == () and early.early_exit == (("zoomed_center", 0.92),)
    assert EmotionPredictor(model_path, tta="center", early_exit="file").early_exit == ()
    assert EmotionPredictor(model_path, temperature=1.0, early_exit="file").early_exit == ()
    assert EmotionPredictor(model_path).early_exit == ()  # the library default: every view
    assert early.view_policy == f"zoomed_center@0.92 -> {ALL_VIEWS}"
    assert early.exit_temperatures == (0.03, 0.03)  # read back from the file (weights_only)
    assert EmotionPredictor(model_path, early_exit="zoomed_center@0.5").exit_temperatures == ()

    full, fast, single = (p.predict_proba(faces) for p in (every_view, early, one_view))
    sure = single.max(1) >= 0.92
    assert 0 < sure.sum() < len(faces), "the test needs sure and unsure faces"
    np.testing.assert_allclose(fast[sure], single[sure], atol=1e-5)
    np.testing.assert_allclose(fast[~sure], full[~sure], atol=1e-5)
    assert early.views_computed == sure.sum() + 20 * (~sure).sum()
    assert every_view.views_computed == 20 * len(faces)


def test_predict_script_reports_the_early_exit_and_its_views(model_path: Path, tmp_path: Path) -> None:
    from tests.conftest import write_fer_csv

    write_fer_csv(tmp_path / "test_with_emotions.csv", 60, seed=4)
    command = [sys.executable, "scripts/predict.py", f"model_path={model_path}", f"data_dir={tmp_path}"]
    command += ["plots_dir=null", "report_dir=null", "backend=torch"]
    outputs = {}
    for policy in ("file", "zoomed_center@0.15", "none"):
        result = subprocess.run(
            [*command, f"early_exit={policy}"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Accuracy on test set: ")
        outputs[policy] = result.stdout
    assert f"test-time views: zoomed_center@0.92 -> {ALL_VIEWS}" in outputs["file"]
    assert "; 1.00 views per face" in outputs["zoomed_center@0.15"]  # 7 classes: the top one has >= 1/7
    assert "; 20.00 views per face" in outputs["none"]
    bad = subprocess.run(
        [*command, "early_exit=center@2"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "between 0 and 1" in bad.stderr
