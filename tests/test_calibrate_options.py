"""scripts/calibrate.py reads its options before any work: a bad one is one line, exit 2, the file untouched."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks.calibrate import early_exit_option


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("early_exit=bogus", "error: early_exit: 'bogus' is not a test-time augmentation (.*); or early_exit=auto"),
        ("data.val_fraction=0", "error: data.val_fraction must be a number between 0 and 1 .*, got 0$"),
        ("refit_temperatures=nope", "error: refit_temperatures must be true or false, got 'nope'$"),
        ("backend=bogus", "error: backend must be one of auto, torch, onnxruntime, onnxruntime-int8, got 'bogus'$"),
        ("min_faces=-1", "error: min_faces must be a whole number >= 0, got -1$"),
        ("min_faces=many", "error: min_faces must be a whole number, got 'many'$"),
    ],
)
def test_a_bad_option_is_refused_before_the_validation_pass(tmp_path: Path, option: str, message: str) -> None:
    model_path = tmp_path / "model.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(), model_path)
    before = model_path.read_bytes()
    missing_data = tmp_path / "no-data"  # reading it would fail with another error: the option is checked first
    result = subprocess.run(
        [sys.executable, "scripts/calibrate.py", f"model_path={model_path}", f"paths.data_dir={missing_data}", option],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert re.match(message, result.stderr.strip()), result.stderr
    assert model_path.read_bytes() == before


def test_early_exit_option_reads_keywords_and_policies() -> None:
    assert early_exit_option("auto") == "auto" and early_exit_option(" FILE ") == "file"
    assert early_exit_option("none") == () and early_exit_option(None) == ()
    assert early_exit_option("center@0.8,hflip@0.6") == (("center", 0.8), ("hflip", 0.6))
    with pytest.raises(ValueError, match="confidence of center must be between 0 and 1"):
        early_exit_option("center@2")


@pytest.mark.parametrize(("given", "message"), [("5", "model file not found: 5"), ("[a.pkl,b.pkl]", "takes one")])
def test_a_model_path_of_the_wrong_type_is_one_line(tmp_path: Path, given: str, message: str) -> None:
    """model_path=5 was a TypeError traceback."""
    result = subprocess.run(
        [sys.executable, "scripts/calibrate.py", f"model_path={given}", f"paths.data_dir={tmp_path}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and message in result.stderr


def test_a_tiny_validation_split_is_refused_and_the_file_left_as_it_was(tmp_path: Path, fer_dir: Path) -> None:
    """A wrong data dir (here 140 rows: 14 validation faces) once rewrote a real file's temperatures with a warning."""
    model_path = tmp_path / "model.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(), model_path)
    before = model_path.read_bytes()
    command = [sys.executable, "scripts/calibrate.py", f"model_path={model_path}", f"paths.data_dir={fer_dir}"]
    result = subprocess.run(
        [*command, f"paths.cache_dir={tmp_path}"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: {fer_dir}: 14 validation faces (data.val_fraction=0.1 of train.csv), ")
    assert "fewer than min_faces=1000" in result.stderr and f"{model_path} is unchanged" in result.stderr
    assert model_path.read_bytes() == before
