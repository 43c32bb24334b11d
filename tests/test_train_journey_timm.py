"""A timm backbone from local weights, no download at run time: timm's own files load whole (grayscale stem
summed), a file that does not fit the backbone is refused in one line, and so is a download that cannot happen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.timm_backbone import TimmBackbone
from facial_emotion.models.torchvision_mapping import WeightMappingError
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config, train_script_error


@pytest.fixture(scope="module")
def imagenet_like() -> dict[str, torch.Tensor]:
    """A timm mobilenetv2_100 state dict as timm's hub ships it (RGB stem, 1000-class head), random weights."""
    torch.manual_seed(0)
    source = timm.create_model("mobilenetv2_100", num_classes=1000).state_dict()
    for value in source.values():
        if value.is_floating_point():
            value.normal_()
    return source


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_a_timm_weights_file_loads_whole_with_the_rgb_stem_summed(
    tmp_path: Path, imagenet_like: dict[str, torch.Tensor], suffix: str
) -> None:
    """Before, a timm-layout file's 3-channel stem did not fit the 1-channel one and was skipped without a word (the
    stem stayed random), and a .safetensors file (what timm's hub ships) was a torch.load traceback."""
    path = tmp_path / f"mobilenetv2_100{suffix}"
    if suffix == ".safetensors":
        save_file({name: value.contiguous() for name, value in imagenet_like.items()}, str(path))
    else:
        torch.save(imagenet_like, path)
    loaded = TimmBackbone(input_size=48, pretrained_file=str(path)).backbone.state_dict()
    torch.testing.assert_close(loaded["conv_stem.weight"], imagenet_like["conv_stem.weight"].sum(dim=1, keepdim=True))
    for name, value in loaded.items():
        if name.startswith("classifier."):
            assert not value.any(), "the new 7-class head starts at zero"
        elif name != "conv_stem.weight":
            assert torch.equal(value, imagenet_like[name]), name


def test_a_file_that_does_not_cover_the_backbone_is_refused(
    tmp_path: Path, imagenet_like: dict[str, torch.Tensor]
) -> None:
    """A partial or foreign file loaded what matched and trained the rest from random weights, unsaid."""
    partial = {name: value for name, value in imagenet_like.items() if not name.startswith("blocks.6.")}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(WeightMappingError, match=r"partial.pth \(timm weights\) does not fit timm mobilenetv2_100: "):
        TimmBackbone(pretrained_file=str(tmp_path / "partial.pth"))
    torch.save(timm.create_model("resnet18").state_dict(), tmp_path / "resnet18.pth")
    with pytest.raises(WeightMappingError, match="tensors missing, e.g. .*tensors the model does not have, e.g. "):
        TimmBackbone(pretrained_file=str(tmp_path / "resnet18.pth"))
    (tmp_path / "text.pth").write_text("not weights")
    with pytest.raises(WeightMappingError, match="text.pth is not a weights file that loads safely"):
        TimmBackbone(pretrained_file=str(tmp_path / "text.pth"))


def test_fine_tuning_from_a_safetensors_file_trains_and_exports(
    tmp_path: Path, fer_dir: Path, imagenet_like: dict[str, torch.Tensor]
) -> None:
    path = tmp_path / "model.safetensors"
    save_file({name: value.contiguous() for name, value in imagenet_like.items()}, str(path))
    options = ["model=timm_mobilenetv2", f"model.net.pretrained_file={path}", "trainer.limit_train_batches=2"]
    cfg = compose_train_config(tmp_path, fer_dir, [*options, "test=false"])
    assert "val/acc" in train(cfg)
    assert load_model_file(Path(cfg.export.path)).architecture["name"] == "timm"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # another backbone with the experiment's torchvision MobileNetV2 file: Hydra's multi-line WeightMappingError
        (
            ["experiment=fer_mobilenetv2", "model.net.model_name=resnet18"],
            "(torchvision MobileNetV2 weights) does not fit timm resnet18: ",
        ),
        # a misspelt timm name: timm's RuntimeError 'Unknown model' inside Hydra's error, exit 1
        (["model=timm_mobilenetv2", "model.net.model_name=mobilenetv2_10"], "is not a timm model (closest: "),
    ],
)
def test_a_backbone_or_weights_mistake_is_one_line(
    tmp_path: Path, fer_dir: Path, options: list[str], message: str
) -> None:
    error = train_script_error(tmp_path / "run", fer_dir, [*options, "trainer.max_epochs=1"])
    assert message in error, error


def test_pretrained_true_offline_names_the_option_and_the_local_file_instead(tmp_path: Path, fer_dir: Path) -> None:
    """timm's hub error did not say which option asked for a download nor what to give instead."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty_hub_cache"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "scripts/train.py", "model=timm_mobilenetv2", "model.net.pretrained=true"]
    command += [f"paths.data_dir={fer_dir}", f"hydra.run.dir={tmp_path / 'run'}", "trainer.max_epochs=1"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: model.net.pretrained=true: timm could not fetch the mobilenetv2_100 weights (")
    assert line.endswith("offline, give model.net.pretrained_file=<a .pth or .safetensors state dict>")
