"""Learning curves from TensorBoard logs, including a run drawn after the run it continued."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard import SummaryWriter

from facial_emotion.core.model_file import ModelFile, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation import plots
from facial_emotion.export.exporter import export_model
from facial_emotion.models.registry import architecture_of, build_model
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks import plot_learning_curves
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
    assert missing.stderr.strip() == f"error: earlier_run_dirs: {tmp_path / 'nothing'}: no such folder"


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
        ("5", "error: run_dir=5: no such folder"),
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


def _options(run_dir: Path, **given: object) -> DictConfig:
    """plot_learning_curves' options as configs/plot_learning_curves.yaml composes them, `given` overriding."""
    options = {"run_dir": str(run_dir), "earlier_run_dirs": [], "note": ""}
    options |= {"model_path": f"{run_dir}/model/my_own_model.pkl", "output": f"{run_dir}/learning_curves.png"}
    return OmegaConf.create(options | given)


def _model_file(path: Path, training: dict[str, object]) -> Path:
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(), path, training=training)
    return path


def _plot(cfg: DictConfig, monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Run the task; the kept epoch each drawing marked (none drawn: [])."""
    marked: list[int | None] = []
    monkeypatch.setattr(plot_learning_curves, "plot_learning_curves", lambda _s, best, *_a: marked.append(best))
    plot_learning_curves.run(cfg)
    return marked


def test_a_run_folder_that_does_not_exist_is_named_and_not_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run_dir=outputs/nope said "no TensorBoard scalars under outputs/nope/tensorboard", after making the folder for
    its default output (<run_dir>/learning_curves.png)."""
    missing = tmp_path / "nope"
    with pytest.raises(SystemExit) as refused:
        plot_learning_curves.run(_options(missing))
    assert refused.value.code == 2 and capsys.readouterr().err == f"error: run_dir={missing}: no such folder\n"
    assert not missing.exists()
    a_file = tmp_path / "run.txt"
    a_file.write_text("")
    run = _write_run(tmp_path / "run", [0.5, 0.6])
    for options, said in (
        (_options(a_file), f"error: run_dir={a_file}: it is a file, not a run folder\n"),
        (_options(run, earlier_run_dirs=[str(missing)]), f"error: earlier_run_dirs: {missing}: no such folder\n"),
    ):
        with pytest.raises(SystemExit) as refused:
            plot_learning_curves.run(options)
        assert refused.value.code == 2 and capsys.readouterr().err == said
    assert not missing.exists() and not (run / "learning_curves.png").exists()


def test_another_runs_model_file_is_refused_or_warned_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """model_path=<run B's file> with run_dir=<run A> marked B's kept epoch on A's curves without a word."""
    run_a = _write_run(tmp_path / "runs" / "run_a", [0.5, 0.6])
    run_b = _write_run(tmp_path / "runs" / "run_b", [0.5, 0.6, 0.7, 0.65, 0.6])
    b_training = {"best_checkpoint": str(run_b / "checkpoints" / "epoch_002.ckpt"), "epochs_completed": 5}
    b_file = _model_file(run_b / "model" / "my_own_model.pkl", b_training)

    assert _plot(_options(run_b), monkeypatch) == [2]  # its own run: nothing said
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit) as refused:  # another folder's name, another epoch count
        _plot(_options(run_a, model_path=str(b_file)), monkeypatch)
    assert refused.value.code == 2
    assert capsys.readouterr().err == (
        f"error: model_path={b_file} is exported by the run in {run_b} (5 epochs trained, epoch 2 kept); "
        f"run_dir={run_a} logged 2 epochs: another run's model file: leave model_path out for run_dir's own\n"
    )
    assert not (run_a / "learning_curves.png").exists()

    moved = tmp_path / "elsewhere" / "run_b"  # a run moved or copied keeps its name and its epochs: nothing said
    shutil.copytree(run_b, moved)
    assert _plot(_options(moved), monkeypatch) == [2] and capsys.readouterr().err == ""
    renamed = tmp_path / "runs" / "best_run"  # renamed, with its own file in it: nothing said either
    shutil.copytree(run_b, renamed)
    assert _plot(_options(renamed), monkeypatch) == [2] and capsys.readouterr().err == ""

    run_c = _write_run(tmp_path / "runs" / "run_c", [0.4, 0.5, 0.6, 0.62, 0.61])  # as many epochs as run_b
    assert _plot(_options(run_c, model_path=str(b_file)), monkeypatch) == [2]
    assert capsys.readouterr().err == (
        f"warning: model_path={b_file} is exported by the run in {run_b} (5 epochs trained, epoch 2 kept); "
        f"run_dir={run_c} logged 5 epochs: it may be another run's; the epoch marked is the one its own run kept\n"
    )
    late = _model_file(tmp_path / "late.pkl", {"best_checkpoint": "/elsewhere/checkpoints/epoch_004.ckpt"})
    with pytest.raises(SystemExit):  # its kept epoch lies past run_a's curves, whatever else it records
        _plot(_options(run_a, model_path=str(late)), monkeypatch)
    assert "(epoch 4 kept); run_dir=" in capsys.readouterr().err


def test_every_point_of_a_short_curve_is_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1-epoch run's curves were lines of one point: nothing visible. Long curves stay lines alone."""
    figures: list[Figure] = []
    monkeypatch.setattr(plots.plt, "close", figures.append)  # the figure, kept to look at
    one_epoch = {tag: [(0, 0.5)] for tag in ("train/loss", "train/acc", "val/loss", "val/acc")}
    long = {tag: [(epoch, 0.5) for epoch in range(30)] for tag in one_epoch}
    for scalars in (one_epoch, long):
        plots.plot_learning_curves(scalars, 0, tmp_path / "curves.png")
    short_lines, long_lines = (
        [line for ax in figure.axes for line in ax.lines if len(line.get_xdata()) == n]
        for figure, n in zip(figures, (1, 30), strict=True)
    )
    assert len(short_lines) == 4 and all(line.get_marker() not in ("None", None, "") for line in short_lines)
    assert len(long_lines) == 4 and all(line.get_marker() in ("None", None, "") for line in long_lines)
