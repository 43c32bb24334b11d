"""scripts/benchmark.py reads every option before timing anything: a bad one is one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.export.exporter import export_model
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks import benchmark
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("benchmark") / "tiny.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="center"), path)
    return path


def run_benchmark(tiny_model: Path, tmp_path: Path, *overrides: str) -> int:
    small = ["parse=false", "train=false", f"model_path={tiny_model}", "backends=[torch]", "threads=[1]"]
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose("benchmark", [*small, "batches=[1]", f"speed_table={tmp_path / 'speed.md'}", *overrides])
        return benchmark.run(cfg)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train=maybe", "train must be true or false, got 'maybe'"),
        ("threads=[0]", "threads must be a list of whole numbers >= 1, e.g. threads=[1,2], got [0]"),
        ("batches=[a]", "batches must be a list of whole numbers >= 1, e.g. batches=[1,2], got ['a']"),
        ("backends=[bogus]", "backends must be a list of auto, torch, onnxruntime, onnxruntime-int8, got ['bogus']"),
        ("tta=bogus", "tta must be one of center, hflip, ten_crop, zoomed_center, multi_scale_hflip"),
        ("device=gpu", "device must be cpu or cuda (cuda:0, ...), got 'gpu'"),
        ("model_path=[a,b]", "model_path takes one model file, got ['a', 'b']"),
    ],
)
def test_a_bad_option_is_one_line_before_any_timing(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, message: str
) -> None:
    assert run_benchmark(tiny_model, tmp_path, override) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"error: {message}") and captured.err.count("\n") == 1
    assert not (tmp_path / "speed.md").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["steps=0"], "steps must be a whole number >= 1, got 0"),  # printed "0 images/s"
        (["models=[bogus]"], "models: ['bogus'] not among the model configs (timm_mobilenetv2, vgg_large, vgg_small)"),
    ],
)
def test_training_options_are_read_before_training(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: list[str], message: str
) -> None:
    assert run_benchmark(tiny_model, tmp_path, "train=true", *overrides) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_a_speed_table_under_a_file_is_refused_before_timing(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("in the way")
    assert run_benchmark(tiny_model, tmp_path, f"speed_table={tmp_path}/a_file/speed.md") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: speed_table={tmp_path}/a_file/speed.md: cannot make its folder (File exists)\n"


def test_train_no_skips_training_and_the_written_table_is_the_printed_one(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`train=no` was the text "no", which Python takes for yes: it trained."""
    assert run_benchmark(tiny_model, tmp_path, "train=no") == 0
    printed = capsys.readouterr().out
    assert "images/s" not in printed
    rows = [line for line in printed.splitlines() if line.startswith("| torch |")]
    assert rows and all("| zoomed_center | 1 | 1 |" in row for row in rows)  # fp32, and bf16 where native
    written = (tmp_path / "speed.md").read_text().splitlines()
    assert all(row in written for row in rows)
