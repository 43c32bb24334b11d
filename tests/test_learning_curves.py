"""Learning curves from TensorBoard logs, including a run drawn after the run it continued."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from torch.utils.tensorboard import SummaryWriter

from facial_emotion.core.model_file import ModelFile, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.models.registry import architecture_of, build_model
from facial_emotion.training.tensorboard_scalars import concatenate_stages, read_epoch_scalars


def _write_run(run_dir: Path, val_acc: list[float]) -> Path:
    with SummaryWriter(str(run_dir / "tensorboard")) as writer:
        for epoch, acc in enumerate(val_acc):
            step = 10 * (epoch + 1)  # logged at global steps, read back per epoch
            writer.add_scalar("val/acc", acc, step)
            writer.add_scalar("val/loss", 1 - acc, step)
            writer.add_scalar("train/loss", 2 - acc, step)
    return run_dir


def test_stages_are_joined_on_one_epoch_axis(tmp_path: Path) -> None:
    first = read_epoch_scalars(_write_run(tmp_path / "a", [0.5, 0.6, 0.65]) / "tensorboard")
    second = read_epoch_scalars(_write_run(tmp_path / "b", [0.7, 0.71]) / "tensorboard")
    joined, starts = concatenate_stages([first, second])
    assert starts == [3]
    assert [epoch for epoch, _ in joined["val/acc"]] == [0, 1, 2, 3, 4]
    assert [round(v, 2) for _, v in joined["val/acc"]] == [0.5, 0.6, 0.65, 0.7, 0.71]
    assert "train/acc" not in joined


def test_script_draws_a_second_stage_after_the_first(tmp_path: Path) -> None:
    first = _write_run(tmp_path / "stage1", [0.5, 0.6, 0.65])
    second = _write_run(tmp_path / "stage2", [0.7, 0.71])
    net = build_model("vgg", widths=[8, 16])
    model = tmp_path / "model.pkl"
    training = {"best_checkpoint": str(second / "checkpoints" / "epoch_001.ckpt")}
    save_model_file(
        model, ModelFile(net=net, architecture=architecture_of(net), preprocessing=Preprocessing(), training=training)
    )
    output = tmp_path / "curves.png"
    command = [sys.executable, "scripts/plot_learning_curves.py", f"run_dir={second}", f"model_path={model}"]
    result = subprocess.run(
        [*command, f"earlier_run_dirs=[{first}]", f"output={output}", "note=stage 2: distillation"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and output.stat().st_size > 10_000

    missing = subprocess.run(
        [*command, f"earlier_run_dirs=[{tmp_path / 'nothing'}]", f"output={output}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: no TensorBoard scalars under {tmp_path / 'nothing' / 'tensorboard'}"


def test_script_defaults_to_the_runs_own_model_file_and_folder(tmp_path: Path) -> None:
    run = _write_run(tmp_path / "run", [0.5, 0.6])  # a run still training: no model file yet
    result = subprocess.run(
        [sys.executable, "scripts/plot_learning_curves.py", f"run_dir={run}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the kept epoch is not marked" in result.stderr
    assert (run / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"  # not the shipped results/model figure


def test_one_earlier_run_without_brackets_and_an_output_matplotlib_cannot_write(tmp_path: Path) -> None:
    """earlier_run_dirs=<run> was read letter by letter ("no TensorBoard scalars under /tensorboard"); output=x.txt
    was matplotlib's traceback after the curves were read."""
    first = _write_run(tmp_path / "stage1", [0.5, 0.6, 0.65])
    second = _write_run(tmp_path / "stage2", [0.7, 0.71])

    def plot(*overrides: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "scripts/plot_learning_curves.py", f"run_dir={second}", *overrides]
        return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)

    bare, listed = tmp_path / "bare.png", tmp_path / "listed.png"
    for earlier, output in ((f"earlier_run_dirs={first}", bare), (f"earlier_run_dirs=[{first}]", listed)):
        result = plot(earlier, f"output={output}")
        assert result.returncode == 0, result.stderr[-2000:]
    assert bare.read_bytes() == listed.read_bytes()  # the same two stages
    text = tmp_path / "curves.txt"
    refused = plot(f"output={text}")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().startswith(f"error: output={text}: matplotlib writes ") and not text.exists()


@pytest.mark.parametrize(
    ("run_dir", "message"),
    [
        ("5", "error: no TensorBoard scalars under 5/tensorboard"),
        (
            "[a,b]",
            "error: run_dir takes one run folder, got ['a', 'b']; the runs it continued: 'earlier_run_dirs=[...]'",
        ),
    ],
)
def test_a_run_dir_of_the_wrong_type_is_one_line(tmp_path: Path, run_dir: str, message: str) -> None:
    """run_dir=5 and run_dir=[a,b] were TypeError tracebacks."""
    output = tmp_path / "curves.png"
    command = [sys.executable, "scripts/plot_learning_curves.py", f"run_dir={run_dir}", f"output={output}"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr == message + "\n" and not output.exists()
