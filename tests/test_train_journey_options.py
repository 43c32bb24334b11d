"""Bad trainer, data and model values are one line naming the option, exit 2, before anything trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facial_emotion.core.options import OptionError
from facial_emotion.tasks.train import check_options, train
from tests.conftest import compose_train_config, train_script_error


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: trainer=gpu runs")
@pytest.mark.parametrize("trainer", ["gpu", "ddp"])
def test_a_gpu_trainer_without_a_gpu_is_one_line(tmp_path: Path, fer_dir: Path, trainer: str) -> None:
    """Was Hydra's four lines ending in Lightning's "No supported gpu backend found!", exit 1."""
    error = train_script_error(tmp_path / "run", fer_dir, [f"trainer={trainer}", "trainer.max_epochs=1"])
    assert error.startswith("error: trainer.accelerator=gpu: PyTorch finds no GPU on this machine (torch ")
    assert error.endswith(
        "train on the CPU with trainer=cpu (DDP over CPU processes: trainer=ddp "
        "trainer.accelerator=cpu trainer.sync_batchnorm=false)"
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        # Lightning refuses it while building the Trainer: was Hydra's InstantiationException, exit 1
        ("trainer.precision=bf17-mixed", "error: trainer: Precision 'bf17-mixed' is invalid. Allowed precision values"),
        # torch's DataLoader refused it inside fit: a traceback
        ("data.batch_size=0", "error: data.batch_size must be a whole number >= 1, got 0"),
        # 126 training rows, the last incomplete batch dropped: OneCycleLR's "total_steps 0" traceback
        ("data.batch_size=200", "error: data.batch_size=200 is more than the 126 training rows: no whole batch to "),
        # a constructor's ValueError: was Hydra's four lines naming the target
        ("model.net.dropout=1.5", "error: model.net: dropout probability has to be between 0 and 1, but got 1.5"),
    ],
)
def test_values_refused_late_are_one_line_before_training(
    tmp_path: Path, fer_dir: Path, option: str, message: str
) -> None:
    error = train_script_error(tmp_path / "run", fer_dir, [option, "trainer.max_epochs=1"])
    assert error.startswith(message), error


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("data.soft_labels_weight", 1.5, "data.soft_labels_weight must be a number from 0 to 1, got 1.5"),
        ("data.soft_labels_weight", "half", "data.soft_labels_weight must be a number, got 'half'"),
        ("data.eval_batch_size", 2.5, "data.eval_batch_size must be a whole number, got 2.5"),
        ("data.num_workers", -1, "data.num_workers must be a whole number >= 0, got -1"),
        ("model.logit_adjustment", -0.5, "model.logit_adjustment must be a number >= 0, got -0.5"),
        ("model.label_smoothing", 1.2, "model.label_smoothing must be a number from 0 to 1, got 1.2"),
        ("trainer.max_epochs", 0, "trainer.max_epochs must be a whole number >= 1 \\(or -1 with trainer.max_steps\\)"),
        ("trainer.accumulate_grad_batches", 0, "trainer.accumulate_grad_batches must be a whole number >= 1, got 0"),
        ("data.skip_bad_rows", "maybe", "data.skip_bad_rows must be true or false, got 'maybe'"),
    ],
)
def test_option_values_are_checked_by_name(
    tmp_path: Path, fer_dir: Path, option: str, value: object, message: str
) -> None:
    """Each was a traceback once the data was loaded (or the run went on: skip_bad_rows=maybe read as yes)."""
    cfg = compose_train_config(tmp_path, fer_dir)
    group, _, key = option.partition(".")
    cfg[group][key] = value
    with pytest.raises(OptionError, match=f"^{message}"):
        train(cfg)
    assert not Path(cfg.callbacks.model_checkpoint.dirpath).exists()


def test_text_values_reach_the_run_as_what_they_mean(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir)
    cfg.data.skip_bad_rows, cfg.data.soft_labels_weight, cfg.data.batch_size = "no", "0.25", "16"
    check_options(cfg)
    assert cfg.data.skip_bad_rows is False and cfg.data.soft_labels_weight == 0.25 and cfg.data.batch_size == 16
    assert train(cfg)["val/acc"] >= 0  # and it trains with them


def test_a_soft_labels_weight_without_its_file_is_refused_not_ignored(tmp_path: Path, fer_dir: Path) -> None:
    """data.soft_labels_weight=0.3 alone trained on the FER2013 labels alone, without a word."""
    error = train_script_error(tmp_path / "run", fer_dir, ["data.soft_labels_weight=0.3", "trainer.max_epochs=1"])
    assert error == (
        "error: data.soft_labels_weight weighs the FER+ votes of data.soft_labels_file, which is not given (it would "
        "be ignored): add data.soft_labels_file=fer2013new.csv"
    )
