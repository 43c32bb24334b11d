"""A run folder's model file under the name the run gives it (a timm run's pre_trained_model.pkl), and the model=
choice named when init_from is a file of another network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.export.exporter import export_model
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.timm_backbone import TimmBackbone
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks import plot_learning_curves
from facial_emotion.training.initial_weights import load_initial_weights, model_choice
from tests.test_learning_curves import _write_run


def _exported_run(run_dir: Path, name: str) -> Path:
    """A run folder whose options export `name` (as experiment=fer_mobilenetv2 names pre_trained_model.pkl)."""
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text(f"export:\n  path: ${{paths.output_dir}}/model/{name}\n")
    (run_dir / "checkpoints").mkdir()
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    torch.save({"state_dict": {}, "pytorch-lightning_version": "2.5"}, checkpoint)
    return checkpoint


def test_a_checkpoint_given_as_model_path_names_the_file_its_run_exports(tmp_path: Path) -> None:
    """A timm run exports pre_trained_model.pkl: the error named <run>/model/my_own_model.pkl."""
    run_dir = tmp_path / "run"
    checkpoint = _exported_run(run_dir, "pre_trained_model.pkl")
    exported = run_dir / "model" / "pre_trained_model.pkl"
    with pytest.raises(ModelFileError, match=f"its run exports it as {re.escape(str(exported))} when it completes"):
        load_model_file(checkpoint)
    exported.parent.mkdir()
    export_model(VGGNet(widths=(8, 16)), Preprocessing(), exported)
    with pytest.raises(ModelFileError, match=f"\\(its run's is {re.escape(str(exported))}\\)$"):
        load_model_file(checkpoint)


def test_a_run_folder_given_as_model_path_names_its_model_file(tmp_path: Path) -> None:
    """It was '<run> is a folder, not a model file (it holds no .pkl file)': the file is one folder down."""
    run_dir = tmp_path / "run"
    _exported_run(run_dir, "pre_trained_model.pkl")
    exported = run_dir / "model" / "pre_trained_model.pkl"
    exported.parent.mkdir()
    export_model(VGGNet(widths=(8, 16)), Preprocessing(), exported)
    message = f"^{re.escape(str(run_dir))} is a training run's folder, not a model file: its model file is "
    with pytest.raises(ModelFileError, match=message + f"{re.escape(str(exported))}$"):
        load_model_file(run_dir)
    with pytest.raises(ModelFileError, match=r"is a folder, not a model file \(it holds no \.pkl file\)"):
        load_model_file(tmp_path)  # not a run: as before


def test_learning_curves_mark_the_epoch_of_the_file_the_run_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """For a timm run (pre_trained_model.pkl) it said 'no model file at <run>/model/my_own_model.pkl'."""
    run_dir = _write_run(tmp_path / "run", [0.5, 0.6, 0.55])
    _exported_run(run_dir, "pre_trained_model.pkl")
    drawn: list[int | None] = []
    monkeypatch.setattr(plot_learning_curves, "plot_learning_curves", lambda _s, best, *_a: drawn.append(best))
    cfg = OmegaConf.create(
        {
            "run_dir": str(run_dir),
            "earlier_run_dirs": [],
            "note": "",
            "model_path": f"{run_dir}/model/my_own_model.pkl",  # the config's default
            "output": str(tmp_path / "curves.png"),
        }
    )
    plot_learning_curves.run(cfg)  # still training: no file yet, named as the run will name it
    assert f"note: no model file at {run_dir}/model/pre_trained_model.pkl: " in capsys.readouterr().err
    exported = run_dir / "model" / "pre_trained_model.pkl"
    exported.parent.mkdir()
    training = {"best_checkpoint": str(run_dir / "checkpoints" / "epoch_001.ckpt")}
    export_model(VGGNet(widths=(8, 16)), Preprocessing(), exported, training=training)
    plot_learning_curves.run(cfg)
    assert "note:" not in capsys.readouterr().err
    assert drawn == [None, 1]


def test_init_from_a_file_of_another_network_names_the_model_to_choose(tmp_path: Path) -> None:
    """A vgg run given a timm file said 'choose the model that file was trained as' without naming it."""
    timm_file = tmp_path / "pre_trained_model.pkl"
    export_model(TimmBackbone(input_size=48), Preprocessing(), timm_file)
    with pytest.raises(ModelFileError) as refused:
        load_initial_weights(VGGNet(widths=(8, 16)), timm_file)
    assert str(refused.value).endswith(
        "choose the model that file was trained as (model=timm_mobilenetv2 model.net.input_size=48)"
    )
    large = VGGNet(widths=(64, 128, 256, 384), convs_per_stage=3, dropout=0.4)
    assert model_choice({"name": "vgg", "kwargs": large.init_kwargs}) == "model=vgg_large"
    assert model_choice({"name": "timm", "kwargs": {"model_name": "resnet18"}}) is None  # no config builds it
