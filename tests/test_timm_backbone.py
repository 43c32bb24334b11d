"""The timm backbone: builds for 48x48 grayscale, trains a step, and maps torchvision weights exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from facial_emotion.models.timm_backbone import TimmBackbone
from facial_emotion.models.torchvision_mapping import WeightMappingError, map_torchvision_mobilenetv2
from facial_emotion.training.train import train
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
