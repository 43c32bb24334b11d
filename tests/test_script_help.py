"""`--help`: a script's own options with their comments and only the config groups it composes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks import cli
from facial_emotion.tasks.script_help import script_help


def test_predict_help_shows_its_options_with_their_comments_and_no_training_group() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/predict.py", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("usage: python scripts/predict.py [key=value ...]")
    assert "backend: auto        # auto | torch | onnxruntime | onnxruntime-int8" in out  # the file's own comment
    assert "Config groups it composes" in out and "  paths: default*" in out
    for training_group in ("experiment:", "trainer:", "model: ", "hparams_search:"):
        assert training_group not in out


def test_train_help_lists_each_group_with_its_default_marked() -> None:
    text = script_help("train")
    assert "  model: timm_mobilenetv2, vgg_large, vgg_small*" in text
    assert "  trainer: cpu*, ddp, gpu" in text
    assert "  debug: fdr, limit (none by default)" in text
    groups = text.split("Config groups it composes")[1]
    assert "fer_vgg_large_distill" in groups and all(len(line) <= 120 for line in groups.splitlines())


def test_a_config_built_on_another_shows_both_files() -> None:
    text = script_help("benchmark_app")
    assert "And every option of configs/serve.yaml:" in text
    assert text.count("usage:") == 1


def test_the_facial_emotion_command_names_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict_image", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: facial-emotion predict_image [key=value ...]")
    assert "path: ???" in out and "face_pipeline: default, photo*" in out


def test_help_piped_into_a_reader_that_leaves_early_is_no_traceback() -> None:
    result = subprocess.run(
        f"{sys.executable} scripts/train.py --help | head -1",
        shell=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout == "usage: python scripts/train.py [key=value ...]\n"
    assert "Traceback" not in result.stderr
