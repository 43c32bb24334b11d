"""scripts/train.py refuses bad options and unfit resumes up front, and Ctrl-C says how to resume."""

from __future__ import annotations

import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import open_dict

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import OptionError
from facial_emotion.tasks.train import check_options, run, train
from facial_emotion.training.run_summary import read_run_summary
from tests.conftest import compose_train_config, train_script_error


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
        resumed = compose_train_config(tmp_path, fer_dir, [*first, changed])
        with open_dict(resumed):
            resumed.ckpt_path = str(last)
        with pytest.raises(ModelFileError, match=f"ckpt_path={last}: its .*{message}"):
            train(resumed)
        assert last.read_bytes() == saved, "it trained before refusing"


def test_ctrl_c_says_how_to_resume_exits_130_and_records_interrupted(
    tmp_path: Path, fer_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.max_epochs=3", "test=false"])
    cfg = _with_callback(cfg, "CtrlCInSecondEpoch")
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as stop:
            run(cfg)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert stop.value.code == 130
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
