"""Adversarial attacks on a tiny exported VGG: budget respected, quantised PNG still fools, refusal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from facial_emotion.adversarial import (
    NotPredictedAsSourceError,
    linf_attack_batch,
    perturbation_stats,
    smallest_budget_attack,
    targeted_attack,
    untargeted_attack,
)
from facial_emotion.adversarial.face_io import load_face_image, read_face_png, save_face_png
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks.hack_the_cnn import run as run_hack
from facial_emotion.tasks.robustness_report import MEASURE_DEFAULTS
from facial_emotion.tasks.robustness_report import run as run_robustness
from tests.conftest import write_fer_csv

BUDGET = 8


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(6, 48, 48), dtype=np.uint8)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory, faces: np.ndarray) -> Path:
    """A random-init tiny VGG whose head sees features centred on the test faces' mean (else every noise
    face gets the same prediction), exported with ten-crop test-time views."""
    torch.manual_seed(0)
    net = VGGNet(widths=[8, 16], convs_per_stage=1).eval()
    head = net.head[-1]
    with torch.no_grad():
        mean_features = net.forward_features((torch.from_numpy(faces).float()[:, None] / 255 - 0.5) / 0.25)
        head.weight.mul_(30)
        head.bias.copy_(-head.weight @ mean_features.mean(dim=0))
    path = tmp_path_factory.mktemp("model") / "tiny.pkl"
    export_model(net, Preprocessing(crop_size=40, tta="ten_crop"), path)
    return path


@pytest.fixture(scope="module")
def predictor(model_path: Path) -> EmotionPredictor:
    """The file's ten-crop test-time views, as the real attack uses."""
    return EmotionPredictor(model_path, bf16=False)


def second_most_likely(predictor: EmotionPredictor, face: np.ndarray) -> int:
    return int(np.argsort(predictor.predict_proba(face)[0])[-2])


def test_targeted_attack_flips_within_budget_and_survives_png(predictor, faces, tmp_path: Path) -> None:
    face = faces[0]
    source = int(predictor.predict_proba(face)[0].argmax())
    target = second_most_likely(predictor, face)
    result = targeted_attack(predictor, face, target, BUDGET, source=source)
    assert result.success
    assert int(result.probabilities_after.argmax()) == target
    assert result.stats.max_abs_change <= BUDGET
    assert result.adversarial.dtype == np.uint8
    reloaded = read_face_png(save_face_png(result.adversarial, tmp_path / "hacked.png"))
    np.testing.assert_array_equal(reloaded, result.adversarial)
    assert int(predictor.predict_proba(reloaded)[0].argmax()) == target


def test_untargeted_attack_changes_the_prediction(predictor, faces) -> None:
    result = untargeted_attack(predictor, faces[1], BUDGET)
    assert result.success
    assert result.probabilities_after.argmax() != result.probabilities_before.argmax()
    assert result.stats.max_abs_change <= BUDGET


@pytest.mark.parametrize("budget", [1, 3])
def test_batch_attack_never_exceeds_the_budget(predictor, faces, budget: int) -> None:
    labels = predictor.predict_proba(faces).argmax(axis=1)
    for targeted, wanted in ((False, labels), (True, (labels + 1) % 7)):
        adversarial, success = linf_attack_batch(predictor, faces, wanted, budget, targeted)
        change = np.abs(adversarial.astype(int) - faces.astype(int))
        assert change.max() <= budget
        top = predictor.predict_proba(adversarial).argmax(axis=1)
        np.testing.assert_array_equal(success, top == wanted if targeted else top != wanted)


def test_smallest_budget_is_the_first_that_works(predictor, faces) -> None:
    target = second_most_likely(predictor, faces[2])
    result = smallest_budget_attack(predictor, faces[2], target, targeted=True, max_budget=BUDGET)
    assert result.success and result.stats.max_abs_change <= result.budget <= BUDGET
    if result.budget > 1:
        lower = smallest_budget_attack(predictor, faces[2], target, targeted=True, max_budget=result.budget - 1)
        assert not lower.success


def test_refuses_a_face_not_predicted_as_the_source(predictor, faces) -> None:
    probabilities = predictor.predict_proba(faces[3])[0]
    not_predicted = int(probabilities.argmin())
    with pytest.raises(NotPredictedAsSourceError, match="refusing"):
        targeted_attack(predictor, faces[3], target=int(probabilities.argmax()), budget=BUDGET, source=not_predicted)


def test_perturbation_stats() -> None:
    original = np.zeros((4, 4), dtype=np.uint8)
    changed = original.copy()
    changed[0, 0], changed[1, 1] = 2, 1
    stats = perturbation_stats(original, changed)
    assert stats.max_abs_change == 2
    assert stats.l2_norm == pytest.approx(np.sqrt(5))
    assert stats.psnr_db == pytest.approx(10 * np.log10(255**2 / (5 / 16)))
    assert perturbation_stats(original, original).psnr_db == float("inf")


def test_load_face_image_converts_and_resizes(tmp_path: Path) -> None:
    path = tmp_path / "colour.png"
    Image.fromarray(np.full((60, 80, 3), 200, dtype=np.uint8)).save(path)
    face, notes = load_face_image(path)
    assert face.shape == (48, 48) and face.dtype == np.uint8
    assert any("grayscale" in n for n in notes) and any("resized" in n for n in notes)


def test_hack_of_another_model_writes_into_its_own_folder(
    tmp_path: Path, model_path: Path, faces: np.ndarray, predictor: EmotionPredictor
) -> None:
    """`hack_the_cnn.py model_path=other.pkl` must not overwrite the shipped model's hacked images."""
    save_face_png(faces[0], tmp_path / "face.png")
    ranked = np.argsort(predictor.predict_proba(faces[:1])[0])[::-1]
    names = predictor.class_names
    cfg = OmegaConf.create(
        {
            "model_path": str(model_path),
            "tta": None,
            "device": "cpu",
            "source": names[ranked[0]],
            "target": names[ranked[1]],
            "image": str(tmp_path / "face.png"),
            "output_dir": str(tmp_path / "hack"),
            "max_budget": BUDGET,
            "min_target_confidence": 0.0,
            "steps": 20,
            "step_size": None,
        }
    )
    assert run_hack(cfg) == 0
    written = sorted(p.relative_to(tmp_path / "hack").as_posix() for p in (tmp_path / "hack").rglob("*.png"))
    assert written == [
        f"{model_path.stem}/{name}" for name in ("comparison.png", "hacked_image.png", "input_image.png")
    ]


def attack_cli_error(run, model_path: Path, data_dir: Path, capsys: pytest.CaptureFixture, override: dict) -> str:
    """Run an attack CLI (no test CSV in `data_dir`), expect exit code 2, return its one stderr line."""
    settings = {"model_path": str(model_path), "data_dir": str(data_dir), "output_dir": str(data_dir)}
    name = "hack_the_cnn" if run is run_hack else "robustness_report"
    assert run(script_cfg(name, **(settings | override))) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    return error


@pytest.mark.parametrize("run", [run_hack, run_robustness])
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"model_path": "missing.pkl"}, "model file not found"),
        ({"tta": "five_crop"}, "tta must be one of"),
        ({"target": "Happyy"}, "unknown emotion 'Happyy'"),
        ({"target": "Happy"}, "source and target are both Happy"),
    ],
)
def test_attack_scripts_refuse_bad_input_in_one_line(
    run, override: dict, message: str, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert message in attack_cli_error(run, model_path, tmp_path, capsys, override)


def test_robustness_script_names_the_missing_test_file(model_path: Path, tmp_path: Path, capsys) -> None:
    error = attack_cli_error(run_robustness, model_path, tmp_path, capsys, {})
    assert error.startswith("error: FER data not found") and str(tmp_path) in error


def script_cfg(name: str, **overrides: object) -> DictConfig:
    """configs/<name>.yaml as the script gets it (its own options, not the Hydra defaults), with `overrides`."""
    cfg = OmegaConf.load(PROJECT_ROOT / "configs" / f"{name}.yaml")
    del cfg["defaults"]
    return OmegaConf.merge(cfg, overrides)


@pytest.fixture
def attack_data(tmp_path: Path) -> Path:
    """A data dir with a 21-row synthetic test_with_emotions.csv (three faces of each class)."""
    data = tmp_path / "fer"
    data.mkdir()
    write_fer_csv(data / "test_with_emotions.csv", 21, seed=3)
    return data


def predicted_classes(predictor: EmotionPredictor, data_dir: Path) -> np.ndarray:
    return predictor.predict_proba(load_fer_csv(data_dir / "test_with_emotions.csv").images).argmax(axis=1)


def run_script(run, name: str, capsys: pytest.CaptureFixture, **overrides: object) -> tuple[int, str, str]:
    status = run(script_cfg(name, **overrides))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"max_budget": 0}, "max_budget must be a whole number >= 1, got 0"),
        ({"max_budget": "abc"}, "max_budget must be a whole number, got 'abc'"),
        ({"steps": "abc"}, "steps must be a whole number, got 'abc'"),
        ({"step_size": 0}, "step_size must be a number > 0"),
        ({"min_target_confidence": "abc"}, "min_target_confidence must be a number"),
        ({"min_target_confidence": 1}, "min_target_confidence must be a number from 0 to below 1"),
        ({"min_source_confidence": 2}, "min_source_confidence must be a number from 0 to at most 1"),
        ({"max_candidates": "abc"}, "max_candidates must be a whole number, got 'abc'"),
        ({"index": "abc"}, "index must be a whole number, got 'abc'"),
        ({"index": -1}, "index must be a whole number >= 0"),
        ({"index": 21}, "index must be below 21, the number of test faces, got 21"),
        ({"image": "missing.png"}, "image not found: missing.png"),
        ({"image": "not_an_image.png"}, "cannot identify image file"),
        ({"output_dir": "a_file"}, "output_dir: cannot make"),
        ({"data_dir": "no_data"}, "FER data not found"),
    ],
)
def test_hack_refuses_bad_options_in_one_line_before_attacking(
    override: dict, message: str, model_path: Path, attack_data: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Each was a traceback (max_budget=0, max_budget=abc, steps=abc, index=abc, ..., an output_dir that is a file:
    after the attack) or a 'refused' with exit 1 (a missing image or test CSV, an index past the end)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not_an_image.png").write_text("not an image")
    (tmp_path / "a_file").write_text("")
    settings = {"model_path": str(model_path), "data_dir": str(attack_data), "output_dir": str(tmp_path / "out")}
    status, out, err = run_script(run_hack, "hack_the_cnn", capsys, **(settings | override))
    assert status == 2, out + err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert "hacked" not in out


def test_hack_of_a_test_face_not_predicted_source_names_the_source_that_fits(
    model_path: Path, predictor: EmotionPredictor, attack_data: Path, tmp_path: Path, capsys
) -> None:
    """`index=123 target=Angry` on a face the model calls Fear: refused (exit 1), saying `source=Fear` attacks it."""
    predicted = predicted_classes(predictor, attack_data)
    names = predictor.class_names
    source = next(name for i, name in enumerate(names) if i != predicted[0])
    status, out, _ = run_script(
        run_hack,
        "hack_the_cnn",
        capsys,
        model_path=str(model_path),
        data_dir=str(attack_data),
        output_dir=str(tmp_path / "out"),
        index=0,
        source=source,
        target=names[(predicted[0] + 1) % 7],
    )
    assert status == 1
    assert out.splitlines()[-1].startswith("refused: test image #0") and f"source={names[predicted[0]]}" in out
    assert not (tmp_path / "out" / model_path.stem / "hacked_image.png").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"budgets": "abc"}, "budgets must be whole numbers of grey levels >= 1"),
        ({"budgets": [1.5]}, "budgets must be whole numbers"),
        ({"budgets": [-1, 2]}, "budgets must be whole numbers"),
        ({"budgets": []}, "budgets must be whole numbers"),
        ({"batch_size": 0}, "batch_size must be a whole number >= 1, got 0"),
        ({"steps": "abc"}, "steps must be a whole number, got 'abc'"),
        ({"limit": 0}, "limit must be a whole number >= 1, got 0"),
        ({"seed": "abc"}, "seed must be a whole number, got 'abc'"),
        ({"report_name": "sub/report"}, "report_name must be a file name without a folder"),
        ({"output_dir": "a_file"}, "output_dir: cannot make"),
    ],
)
def test_robustness_refuses_bad_options_in_one_line_before_attacking(
    override: dict, message: str, model_path: Path, attack_data: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Each was a traceback after the test set had been predicted (minutes), or at the very end (output_dir)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")
    settings = {"model_path": str(model_path), "data_dir": str(attack_data), "output_dir": str(tmp_path / "out")}
    status, out, err = run_script(run_robustness, "robustness_report", capsys, **(settings | override))
    assert status == 2, out + err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert out == ""


def test_robustness_report_is_written_and_its_command_reproduces_the_run(
    model_path: Path, predictor: EmotionPredictor, attack_data: Path, tmp_path: Path, capsys
) -> None:
    """The page's `Run:` line names every option that changed what was measured, not only tta and limit."""
    counts = np.bincount(predicted_classes(predictor, attack_data), minlength=7)
    names = predictor.class_names
    source, target = names[int(counts.argmax())], names[(int(counts.argmax()) + 1) % 7]
    status, out, err = run_script(
        run_robustness,
        "robustness_report",
        capsys,
        model_path=str(model_path),
        data_dir=str(attack_data),
        output_dir=str(tmp_path / "out"),
        source=source,
        target=target,
        budgets=[8, 1],
        limit=2,
        seed=1,
        steps=3,
        tta="center",
        report_name="small",
    )
    assert status == 0, err
    folder = tmp_path / "out" / model_path.stem
    page = (folder / "small.md").read_text()
    command = (
        f"python scripts/robustness_report.py model_path={model_path} source={source} target={target} "
        "budgets=[8,1] limit=2 steps=3 tta=center seed=1 report_name=small`"
    )
    assert command in page
    assert f"a random subsample (seed 1) of 2 of the {counts.max()} test faces predicted {source}" in page
    assert [line.split("|")[1].strip() for line in page.splitlines() if line.startswith("| ") and "%" in line] == [
        "1",
        "8",
    ]
    with Image.open(folder / "small.png") as figure:
        assert figure.format == "PNG" and figure.width > 100
    assert f"wrote {folder / 'small.md'} and {folder / 'small.png'}" in out


def test_the_reports_defaults_are_the_configs() -> None:
    cfg = OmegaConf.load(PROJECT_ROOT / "configs" / "robustness_report.yaml")
    assert {key: OmegaConf.to_object(cfg[key]) if key == "budgets" else cfg[key] for key in MEASURE_DEFAULTS} == (
        MEASURE_DEFAULTS
    )


def test_hack_that_does_not_fool_says_so_and_writes_nothing(
    model_path: Path, predictor: EmotionPredictor, faces: np.ndarray, tmp_path: Path, capsys
) -> None:
    """It printed 'trying the next one' with no next one, wrote the failed attack over the example and exited 2
    (bad input's status)."""
    save_face_png(faces[0], tmp_path / "face.png")
    ranked = np.argsort(predictor.predict_proba(faces[:1])[0])[::-1]
    names = predictor.class_names
    status, out, err = run_script(
        run_hack,
        "hack_the_cnn",
        capsys,
        model_path=str(model_path),
        output_dir=str(tmp_path / "out"),
        image=str(tmp_path / "face.png"),
        source=names[ranked[0]],
        target=names[ranked[-1]],
        max_budget=1,
        steps=1,
        min_target_confidence=0.99,
    )
    assert status == 1, err
    assert "trying the next one" not in out
    assert out.splitlines()[-1].startswith(f"not fooled: {names[ranked[-1]]} is not on top with more than 99% for ")
    assert "(max_budget=2 may do it); nothing written" in out
    assert not list((tmp_path / "out").rglob("*.png"))
