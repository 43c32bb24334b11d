"""Channel pruning: a narrower VGG started from a wider one's most important channels."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facial_emotion.core.model_file import ModelFile, ModelFileError, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.models.channel_pruning import prune_into
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.registry import architecture_of
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks.train import train
from facial_emotion.training.initial_weights import load_initial_weights
from tests.conftest import compose_train_config


def _trained_looking_vgg(widths: list[int], seed: int = 0) -> VGGNet:
    """A VGG with random BN statistics and affine parameters, as after training (not the identity at init)."""
    torch.manual_seed(seed)
    net = VGGNet(widths=widths, convs_per_stage=2, dropout=0.0)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data = torch.randn_like(module.weight)
            module.bias.data = torch.randn_like(module.bias) * 0.1
            module.running_mean.data = torch.randn_like(module.running_mean) * 0.1
            module.running_var.data = torch.rand_like(module.running_var) + 0.5
    return net.eval()


def test_pruning_keeps_the_function_when_the_dropped_channels_are_silent() -> None:
    wide = _trained_looking_vgg([8, 12, 16])
    narrow = VGGNet(widths=[4, 6, 8], convs_per_stage=2, dropout=0.0).eval()
    # silence all but the first `width` channels of every layer (gamma and beta 0: the channel is always 0),
    # so the kept channels are known and the pruned network must compute exactly what the wide one does
    wide_bns = [m for m in wide.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn, width in zip(wide_bns, [4, 4, 6, 6, 8, 8], strict=True):
        bn.weight.data[width:] = 0.0
        bn.bias.data[width:] = 0.0
        bn.weight.data[:width] = bn.weight.data[:width].abs() + 0.1
    kept = prune_into(narrow, wide)
    assert [k.tolist() for k in kept] == [list(range(w)) for w in [4, 4, 6, 6, 8, 8]]
    x = torch.randn(5, 1, 40, 40)
    torch.testing.assert_close(narrow(x), wide(x))


def test_pruning_keeps_the_largest_batch_norm_scales_in_their_order() -> None:
    wide = _trained_looking_vgg([8, 8])
    narrow = VGGNet(widths=[3, 5], convs_per_stage=2, dropout=0.0)
    kept = prune_into(narrow, wide)
    first_bn = wide.features[0][1]
    expected = first_bn.weight.abs().argsort(descending=True)[:3].sort().values
    assert kept[0].tolist() == expected.tolist()
    torch.testing.assert_close(narrow.features[0][1].weight, first_bn.weight[expected])
    torch.testing.assert_close(narrow.features[0][1].running_var, first_bn.running_var[expected])
    # the second conv keeps only the input slices of the first layer's kept channels
    torch.testing.assert_close(narrow.features[1][0].weight, wide.features[1][0].weight[kept[1]][:, kept[0]])
    torch.testing.assert_close(narrow.head[-1].weight, wide.head[-1].weight[:, kept[-1]])


@pytest.mark.parametrize(
    ("widths", "convs", "message"),
    [([4, 16], 2, r"wider VGG \[4, 16\] \(16 > 8\)"), ([4], 2, "stages, convs per stage"), ([4, 4], 3, "stages")],
)
def test_pruning_refuses_networks_it_cannot_come_from(widths: list[int], convs: int, message: str) -> None:
    wide = _trained_looking_vgg([8, 8])
    with pytest.raises(ModelFileError, match=message):
        prune_into(VGGNet(widths=widths, convs_per_stage=convs), wide)


def test_a_run_starts_pruned_from_a_model_file_and_records_it(tmp_path: Path) -> None:
    wide = _trained_looking_vgg([8, 12])
    path = tmp_path / "wide.pkl"
    save_model_file(
        path,
        ModelFile(net=wide, architecture=architecture_of(wide), preprocessing=Preprocessing(), training={"seed": 5}),
    )
    narrow = VGGNet(widths=[4, 6], convs_per_stage=2)
    with pytest.raises(ModelFileError, match="holds vgg"):
        load_initial_weights(narrow, path)  # without pruning, the architectures must match
    record = load_initial_weights(narrow, path, pruned=True)
    assert record["pruned_from"] == [8, 12] and record["seed"] == 5 and record["path"] == str(path)
    torch.testing.assert_close(narrow.head[-1].bias, wide.head[-1].bias)


def test_compact_pruned_experiment_trains_a_pruned_student_of_its_teacher(tmp_path: Path, fer_dir: Path) -> None:
    torch.manual_seed(0)
    teacher = VGGNet(widths=[8, 16], convs_per_stage=3, dropout=0.4).eval()
    teacher_path = tmp_path / "teacher.pkl"
    cfg = compose_train_config(
        tmp_path,
        fer_dir,
        [
            "experiment=fer_compact_pruned",
            "model.net.widths=[4,8]",
            f"init_from={teacher_path}",
            f"teachers=[{teacher_path}]",
            "data.rounds=1",
            "trainer.max_epochs=1",
            "test=false",
        ],
    )
    save_model_file(
        teacher_path,
        ModelFile(
            net=teacher, architecture=architecture_of(teacher), preprocessing=Preprocessing(**cfg.augmentation.eval)
        ),
    )
    train(cfg)
    student = load_model_file(Path(cfg.export.path))
    assert student.architecture["kwargs"]["widths"] == [4, 8] and student.architecture["kwargs"]["convs_per_stage"] == 3
    assert student.training["init_from"]["pruned_from"] == [8, 16]
    assert [t["path"] for t in student.training["distillation"]["teachers"]] == [str(teacher_path)]
