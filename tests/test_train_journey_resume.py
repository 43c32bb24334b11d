"""A run cut by Ctrl-C mid-epoch and resumed ends as the same run uninterrupted: weights, metrics, val/acc_best."""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from omegaconf import DictConfig, open_dict

from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks.train import train
from facial_emotion.training.resume_schedule import ResumeRefusedError
from facial_emotion.training.run_summary import read_run_summary
from tests.conftest import compose_train_config, run_until_ctrl_c, write_fer_csv


class CtrlCInThirdEpoch(L.Callback):
    """A real SIGINT to this process after the third batch of epoch 2, as Ctrl-C in a terminal sends."""

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.current_epoch == 2 and args[-1] == 2:  # batch_idx
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def noisy_fer_dir(tmp_path: Path) -> Path:
    """train.csv whose labels are shuffled: validation accuracy goes up and down, so the best epoch can come before
    an interruption (with learnable labels it only rises on this tiny data)."""
    data = tmp_path / "noisy"
    data.mkdir()
    images, labels = write_fer_csv(data / "train.csv", 140, seed=1)
    shuffled = np.random.default_rng(0).permutation(labels)
    rows = [f"{label},{' '.join(map(str, image.ravel()))}" for label, image in zip(shuffled, images, strict=True)]
    (data / "train.csv").write_text("\n".join(["emotion,pixels", *rows]) + "\n")
    write_fer_csv(data / "test_with_emotions.csv.gz", 42, seed=2, gz=True)
    return data


def _config(tmp_path: Path, data: Path) -> DictConfig:
    # seed 5: val/acc 0.07, 0.29, 0.14, 0.14 by epoch: the best is epoch 1, before the Ctrl-C in epoch 2
    return compose_train_config(tmp_path, data, ["trainer.max_epochs=4", "optimizer.lr=1", "seed=5", "test=false"])


def _val_acc_by_epoch(run_dir: Path) -> dict[int, float]:
    rows = csv.DictReader((run_dir / "csv" / "metrics.csv").open())
    return {int(row["epoch"]): float(row["val/acc"]) for row in rows if row.get("val/acc")}


def test_ctrl_c_mid_epoch_then_resume_continues_exactly(
    tmp_path: Path, noisy_fer_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = _config(tmp_path / "whole", noisy_fer_dir)
    whole_metrics = train(whole)
    whole_last = torch.load(Path(whole.callbacks.model_checkpoint.dirpath) / "last.ckpt", weights_only=True)

    cut = _config(tmp_path / "cut", noisy_fer_dir)
    with open_dict(cut):
        cut.callbacks.ctrl_c = {"_target_": f"{__name__}.CtrlCInThirdEpoch"}
    code = run_until_ctrl_c(cut)
    run_dir = Path(cut.paths.output_dir)
    last = Path(cut.callbacks.model_checkpoint.dirpath) / "last.ckpt"
    hint = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 130
    assert hint == f"training was interrupted; resume it: its command with ckpt_path={last.resolve()} " + (
        f"hydra.run.dir={run_dir.resolve()}"
    )
    assert torch.load(last, weights_only=True)["epoch"] == 1, "last.ckpt is the last whole epoch"
    assert read_run_summary(run_dir)["status"] == "interrupted"

    with open_dict(cut):
        del cut.callbacks.ctrl_c
        cut.ckpt_path = str(last)
    resumed_metrics = train(cut)
    resumed_last = torch.load(last, weights_only=True)
    for name, weight in whole_last["state_dict"].items():
        assert torch.equal(resumed_last["state_dict"][name], weight), f"{name} differs from the uninterrupted run's"
    assert resumed_last["global_step"] == whole_last["global_step"]
    assert resumed_metrics == pytest.approx(whole_metrics), "the resumed run's figures are not the run's"

    by_epoch = _val_acc_by_epoch(run_dir)
    assert by_epoch == pytest.approx(_val_acc_by_epoch(Path(whole.paths.output_dir)))
    assert sorted(by_epoch) == [0, 1, 2, 3]
    assert resumed_metrics["val/acc_best"] == pytest.approx(max(by_epoch.values()))
    assert max(by_epoch, key=by_epoch.get) < 2, "this seed's best epoch is no longer before the interruption"
    exported = load_model_file(Path(cut.export.path))
    assert exported.training["resumes"] == 1
    assert exported.metrics["val/acc_best"] == pytest.approx(max(by_epoch.values()))


def test_a_resume_on_mixup_and_bf16_draws_the_same_augmentation(tmp_path: Path, fer_dir: Path) -> None:
    """Mixup and erasing draw from the generators every batch; bf16-mixed is what AMX and AMD AVX512-BF16 CPUs run."""
    options = ["trainer.max_epochs=2", "augmentation=mixup", "trainer.precision=bf16-mixed", "test=false"]
    whole = compose_train_config(tmp_path / "whole", fer_dir, options)
    train(whole)
    first = compose_train_config(tmp_path / "cut", fer_dir, options)
    with open_dict(first):
        first.callbacks.stop = {"_target_": f"{__name__}.StopAfterFirstEpoch"}
    train(first)
    last = Path(first.callbacks.model_checkpoint.dirpath) / "last.ckpt"
    assert "RandomState" in torch.load(last, weights_only=True)["callbacks"]
    with open_dict(first):
        del first.callbacks.stop
        first.ckpt_path = str(last)
    train(first)
    ours = torch.load(last, weights_only=True)["state_dict"]
    theirs = torch.load(Path(whole.callbacks.model_checkpoint.dirpath) / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(ours[name], weight) for name, weight in theirs.items())


class StopAfterFirstEpoch(L.Callback):
    """Ends fit after epoch 0, as a run killed after its first checkpoint would."""

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.should_stop = True


def test_resuming_into_another_folder_is_refused_naming_the_runs_own(tmp_path: Path, fer_dir: Path) -> None:
    """Without hydra.run.dir= the resume trained on in a new folder: half the run in each, the checkpoint callback's
    best of the first half forgotten (a Lightning warning), the model file the second half's best."""
    first = compose_train_config(tmp_path / "first", fer_dir, ["trainer.max_epochs=2", "test=false"])
    with open_dict(first):
        first.callbacks.stop = {"_target_": f"{__name__}.StopAfterFirstEpoch"}
    train(first)
    last = Path(first.callbacks.model_checkpoint.dirpath) / "last.ckpt"
    elsewhere = compose_train_config(tmp_path / "elsewhere", fer_dir, ["trainer.max_epochs=2", "test=false"])
    with open_dict(elsewhere):
        elsewhere.ckpt_path = str(last)
    run_dir = Path(first.paths.output_dir).resolve()
    with pytest.raises(ResumeRefusedError) as refused:
        train(elsewhere)
    assert str(refused.value) == (
        f"ckpt_path={last} is a checkpoint of the run in {run_dir}: resume it there, with its command and "
        f"ckpt_path={last.resolve()} hydra.run.dir={run_dir}"
    )
    assert not Path(elsewhere.callbacks.model_checkpoint.dirpath).exists()


def test_resuming_an_earlier_checkpoint_of_the_run_is_refused(tmp_path: Path, noisy_fer_dir: Path) -> None:
    """ckpt_path=<run>/checkpoints/epoch_001.ckpt (the best) for last.ckpt went on from epoch 2 and wrote over
    last.ckpt: the epochs after the best were lost."""
    cfg = _config(tmp_path, noisy_fer_dir)
    train(cfg)
    checkpoints = Path(cfg.callbacks.model_checkpoint.dirpath)
    last, best = checkpoints / "last.ckpt", checkpoints / "epoch_001.ckpt"
    saved = last.read_bytes()
    with open_dict(cfg):
        cfg.ckpt_path = str(best)
    with pytest.raises(ResumeRefusedError) as refused:
        train(cfg)
    assert str(refused.value) == (
        f"ckpt_path={best} holds 2 epochs of this run, its last.ckpt 4: resuming it would train over last.ckpt and "
        f"lose the epochs after it; resume with ckpt_path={last.resolve()}"
    )
    assert last.read_bytes() == saved
