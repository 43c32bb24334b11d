"""scripts/train.py refuses bad options and unfit resumes up front, and Ctrl-C says how to resume."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import open_dict

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import OptionError
from facial_emotion.data.datamodule import FERDataModule
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks.train import _sweep_hint, check_options, train
from facial_emotion.training.resume_schedule import ResumeRefusedError
from facial_emotion.training.run_summary import read_run_summary
from facial_emotion.training.schedules import one_cycle
from tests.conftest import compose_train_config, run_until_ctrl_c, train_script_error


class StopAfterFirstEpoch(L.Callback):
    """Ends fit after epoch 0, as a run killed after its first checkpoint would."""

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.should_stop = True


class CtrlCInSecondEpoch(L.Callback):
    """Raises KeyboardInterrupt as Ctrl-C would, once epoch 0's last.ckpt is written."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 1:
            raise KeyboardInterrupt


def _with_callback(cfg, target: str):
    with open_dict(cfg):
        cfg.callbacks.extra = {"_target_": f"tests.test_train_refusals.{target}"}
    return cfg


@pytest.mark.parametrize("scheduler", ["onecycle", "cosine"])
def test_resuming_a_run_with_another_schedule_length_is_refused_before_a_step(
    tmp_path: Path, fer_dir: Path, scheduler: str
) -> None:
    """One-cycle would fail epochs later (stepped past its end), warm-up cosine would jump to another curve."""
    first = ["trainer.max_epochs=2", "test=false", f"scheduler={scheduler}"]
    cfg = _with_callback(compose_train_config(tmp_path, fer_dir, first), "StopAfterFirstEpoch")
    train(cfg)
    last = Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt"
    saved = last.read_bytes()
    for changed, message in [
        ("trainer.max_epochs=3", "spans 14 steps, this configuration's 21 .*own trainer.max_epochs=2$"),
        ("data.batch_size=32", "took 7 steps an epoch, this configuration 3.*data.batch_size"),
    ]:
        resumed = _in_folder(
            compose_train_config(tmp_path, fer_dir, [*first, changed]), Path(cfg.paths.output_dir), last
        )
        with pytest.raises(ModelFileError, match=f"ckpt_path={last}: its .*{message}"):
            train(resumed)
        assert last.read_bytes() == saved, "it trained before refusing"


def test_ctrl_c_says_how_to_resume_exits_130_and_records_interrupted(
    tmp_path: Path, fer_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.max_epochs=3", "test=false"])
    cfg = _with_callback(cfg, "CtrlCInSecondEpoch")
    assert run_until_ctrl_c(cfg) == 130
    last = (Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt").resolve()
    run_dir = Path(cfg.paths.output_dir)
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"training was interrupted; resume it: its command with ckpt_path={last} hydra.run.dir={run_dir.resolve()}"
    )
    assert torch.load(last, weights_only=True)["epoch"] == 0
    assert read_run_summary(run_dir)["status"] == "interrupted"
    assert not Path(cfg.export.path).exists()


def test_val_fraction_outside_0_1_is_a_one_line_error_before_training(tmp_path: Path, fer_dir: Path) -> None:
    error = train_script_error(tmp_path / "run", fer_dir, ["data.val_fraction=0"])
    assert error == "error: data.val_fraction must be a number between 0 and 1 (both excluded), got 0"
    cfg = compose_train_config(tmp_path, fer_dir)
    for value in ("1", "1.5", "abc", "-0.1", "nan", "true"):
        with open_dict(cfg):
            cfg.data.val_fraction = value
        with pytest.raises(OptionError, match=f"data.val_fraction must be .*, got '{value}'"):
            check_options(cfg)
    cfg.data.val_fraction = "0.2"
    check_options(cfg)
    assert cfg.data.val_fraction == 0.2


def test_test_is_read_as_a_yes_or_no(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir)
    cfg.test = "no"  # text on the command line: it read as yes
    check_options(cfg)
    assert cfg.test is False
    cfg.test = "maybe"
    with pytest.raises(OptionError, match="test must be true or false, got 'maybe'"):
        check_options(cfg)


def test_one_cycle_of_exactly_one_warm_up_step_trains(tmp_path: Path, fer_dir: Path) -> None:
    """5 steps at pct_start 0.2 (one epoch of `limit_train_batches=5`): torch's OneCycleLR divided by zero."""
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.limit_train_batches=5", "test=false"])
    assert cfg.scheduler.pct_start * 5 == 1
    metrics = train(cfg)
    state = torch.load(Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt", weights_only=True)
    assert state["global_step"] == 5 and state["lr_schedulers"][0]["total_steps"] == 5
    assert read_run_summary(Path(cfg.paths.output_dir))["status"] == "completed" and "val/acc" in metrics
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = one_cycle(optimizer, total_steps=5, max_lr=0.1, pct_start=0.2)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(4):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates[0] == pytest.approx(0.1) and rates[-1] == pytest.approx(0.1 / 25 / 1e4)  # the peak, then down
    assert rates == sorted(rates, reverse=True)


def _first_epoch_run(tmp_path: Path, fer_dir: Path, options: list[str]) -> tuple[Path, Path]:
    """A run stopped after its first epoch (of two): its last.ckpt and its folder."""
    cfg = _with_callback(compose_train_config(tmp_path, fer_dir, options), "StopAfterFirstEpoch")
    train(cfg)
    return Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt", Path(cfg.paths.output_dir)


def _in_folder(cfg, run_dir: Path, ckpt_path: Path | None):
    """`cfg` run in `run_dir` (hydra.run.dir=<run>), resuming `ckpt_path`."""
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)
        cfg.export.path = str(run_dir / "model" / "my_own_model.pkl")
        cfg.callbacks.model_checkpoint.dirpath = str(run_dir / "checkpoints")
        cfg.ckpt_path = str(ckpt_path) if ckpt_path else None
    return cfg


@pytest.mark.parametrize(
    ("scheduler", "changed", "message"),
    [
        ("onecycle", "scheduler.pct_start=0.3", r"scheduler.pct_start 0.3 here, 0.2 in the run"),
        ("onecycle", "optimizer.lr=0.2", r"scheduler.max_lr 0.2 here, 0.1 in the run"),
        ("onecycle", "scheduler.div_factor=10", r"scheduler.div_factor 10 here, 25 in the run"),
        ("cosine", "scheduler.warmup_fraction=0.2", r"scheduler.warmup_fraction 0.2 here, 0.05 in the run"),
        ("cosine", "optimizer.lr=0.05", r"optimizer.lr 0.05 here, 0.1 in the run"),
    ],
)
def test_resuming_with_other_schedule_options_is_refused_and_keeps_the_run(
    tmp_path: Path, fer_dir: Path, scheduler: str, changed: str, message: str
) -> None:
    """The checkpoint's optimizer and scheduler states would replace these options silently."""
    first = ["trainer.max_epochs=2", "test=false", f"scheduler={scheduler}"]
    last, run_dir = _first_epoch_run(tmp_path, fer_dir, first)
    saved, summary = last.read_bytes(), (run_dir / "run_summary.json").read_text()
    assert read_run_summary(run_dir)["status"] == "completed"
    resumed = _in_folder(compose_train_config(tmp_path, fer_dir, [*first, changed]), run_dir, last)
    with pytest.raises(ResumeRefusedError, match=f"ckpt_path={last}: a resume continues .*\\({message}\\): resume "):
        train(resumed)
    assert last.read_bytes() == saved, "it trained before refusing"
    assert (run_dir / "run_summary.json").read_text() == summary, "the refusal overwrote the run's summary"
    # The same options resume.
    train(_in_folder(compose_train_config(tmp_path, fer_dir, first), run_dir, last))
    assert torch.load(last, weights_only=True)["epoch"] == 1
    assert read_run_summary(run_dir)["resumes"] == 1


def test_a_refused_resume_leaves_the_runs_summary_as_it_was(tmp_path: Path, fer_dir: Path) -> None:
    first = ["trainer.max_epochs=2", "test=false"]
    last, run_dir = _first_epoch_run(tmp_path, fer_dir, first)
    summary_file = run_dir / "run_summary.json"
    summary = summary_file.read_text()
    for changed, ckpt_path, message in [
        ("trainer.max_epochs=3", last, "its learning-rate schedule spans"),  # refused at fit start
        ("trainer.max_epochs=2", None, "already holds a run"),  # no ckpt_path: before anything is built
        ("model.net.widths=[8,32]", last, "holds another network"),
        ("trainer.max_epochs=2", run_dir / "nothing.ckpt", "no checkpoint at"),
        # other bad input on a resume: it was "failed", 0 epochs, over the run's own summary
        ("data.val_fraction=1.5", last, "data.val_fraction must be a number between 0 and 1"),  # before the data
        ("data.batch_size=999", last, "data.batch_size=999 is more than the 126 training rows"),  # in fit
    ]:
        cfg = _in_folder(compose_train_config(tmp_path, fer_dir, [*first, changed]), run_dir, ckpt_path)
        with pytest.raises((ResumeRefusedError, OptionError), match=message):
            train(cfg)
        assert summary_file.read_text() == summary, f"refused ({message}) but rewrote the summary"
    # In a folder of its own, a refused run is recorded as refused (it was "failed": a failed run in compare_runs).
    for changed, new, ckpt_path in [(["trainer.max_epochs=3"], "new", last), (["data.batch_size=999"], "new2", None)]:
        elsewhere = _in_folder(compose_train_config(tmp_path, fer_dir, changed), tmp_path / new, ckpt_path)
        with pytest.raises((ResumeRefusedError, OptionError)) as refusal:
            train(elsewhere)
        recorded = read_run_summary(tmp_path / new)
        assert recorded["status"] == "refused" and recorded["epochs_completed"] == 0, changed
        assert recorded["error"] == f"{type(refusal.value).__name__}: {refusal.value}" and "traceback" not in recorded


def test_an_empty_validation_split_is_a_one_line_error_before_training(
    tmp_path: Path, fer_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """0.01 of 20 rows per class rounds to none: Lightning would skip validation and nothing would pick a best."""
    error = train_script_error(tmp_path / "run", fer_dir, ["data.val_fraction=0.01", "trainer.max_epochs=1"])
    assert error == (
        "error: data.val_fraction=0.01 gives 0 validation and 140 training rows of 140: the validation split is "
        "empty; give a fraction that leaves rows in both"
    )
    cfg = compose_train_config(tmp_path, fer_dir, ["data.val_fraction=0.99"])
    with pytest.raises(OptionError, match=r"=0.99 gives 140 validation and 0 training .*the training split is empty"):
        train(cfg)
    datamodule = FERDataModule(data_dir=str(fer_dir), cache_dir=str(tmp_path / "cache"), val_fraction=0.05)
    with caplog.at_level(logging.WARNING, logger="facial_emotion.data.datamodule"):
        datamodule.setup("fit")  # 1 row of each class's 20: trains, with a warning that val/acc is mostly chance
    assert len(datamodule.val_set) == 7 and len(datamodule.train_set) == 133
    assert "gives only 7 validation faces: val/acc moves in steps of 14.3 points" in caplog.text


def test_ctrl_c_in_a_sweep_says_to_rerun_the_sweep(tmp_path: Path, fer_dir: Path) -> None:
    """A real grid sweep (-m) cut by Ctrl-C in its first job: one job's ckpt_path resume is the wrong advice."""
    command = [
        sys.executable,
        "scripts/train.py",
        "-m",
        "optimizer.lr=0.05,0.1",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"paths.data_dir={fer_dir}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        "model.net.widths=[8,16]",
        "data.batch_size=16",
        "trainer.max_epochs=3",
        "trainer.precision=32-true",
        "test=false",
        "export.path=null",
        "+callbacks.extra._target_=tests.test_train_refusals.CtrlCInSecondEpoch",
    ]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 130, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == (
        "training was interrupted; it was a sweep: rerun the same sweep command (a grid sweep runs all its jobs "
        "again, into a new hydra.sweep.dir)"
    )
    assert read_run_summary(tmp_path / "sweep" / "0")["status"] == "interrupted"
    assert not (tmp_path / "sweep" / "1").exists(), "the sweep went on after Ctrl-C"
    assert "runs only the study's missing trials" in _sweep_hint("hydra_plugins.x.ResumableOptunaSweeper")


def _record(run_dir: Path) -> dict[str, bytes]:
    """The run folder's option and logger files (not checkpoints, not its log), by relative path."""
    files = [*run_dir.glob(".hydra/*"), *run_dir.glob("*/hparams.yaml"), *run_dir.glob("*/events.out.tfevents.*")]
    return {str(path.relative_to(run_dir)): path.read_bytes() for path in files}


def test_a_refused_resume_through_the_script_keeps_the_runs_options_and_logs(tmp_path: Path, fer_dir: Path) -> None:
    """Hydra writes .hydra/overrides.yaml before train.py can refuse: the run's own options must survive the
    refusal, since the refusal message points to them (and compare_runs reads them)."""
    run_dir = tmp_path / "run"
    options = [
        f"paths.cache_dir={tmp_path / 'cache'}",
        "model.net.widths=[8,16]",
        "data.batch_size=16",
        "trainer.precision=32-true",
        "test=false",
        "logger=[tensorboard,csv]",
    ]
    command = [sys.executable, "scripts/train.py", *options, f"paths.data_dir={fer_dir}", f"hydra.run.dir={run_dir}"]
    first = subprocess.run([*command, "trainer.max_epochs=1"], cwd=PROJECT_ROOT, capture_output=True, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    before = _record(run_dir)
    assert b"trainer.max_epochs=1" in before[".hydra/overrides.yaml"]
    last = run_dir / "checkpoints" / "last.ckpt"
    for refused, message in [
        (["trainer.max_epochs=2", f"ckpt_path={last}"], "its learning-rate schedule spans"),  # at fit start
        (["trainer.max_epochs=1"], "already holds a run"),  # before anything is built
        (["trainer.max_epochs=1", f"ckpt_path={last}", "data.val_fraction=1.5"], "data.val_fraction must be"),
        (["trainer.max_epochs=1", f"ckpt_path={last}"], "is already complete (1 epoch trained"),  # tested, exported
    ]:
        result = subprocess.run([*command, *refused], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and message in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]
        assert _record(run_dir) == before, f"the refused command ({message}) rewrote the run's record"
        assert read_run_summary(run_dir)["status"] == "completed", f"the refused command ({message}) rewrote it"
