"""Quantisation-aware fine-tuning: rounded weights and activations while fitting, the network untouched after."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from facial_emotion.core.model_file import ModelFile, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.registry import architecture_of
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks.train import train
from facial_emotion.training.quantization_aware import (
    ACTIVATION_LEVELS,
    WEIGHT_LEVELS,
    QuantizationAwareTraining,
    fake_quantize_activation,
    fake_quantize_weight,
)
from tests.conftest import compose_train_config


def _on_grid(values: torch.Tensor, step: torch.Tensor) -> bool:
    return bool(torch.allclose(values / step, (values / step).round(), atol=1e-3))


def test_weights_round_per_output_channel_to_the_7_bit_range() -> None:
    torch.manual_seed(0)
    weight = torch.randn(6, 3, 3, 3) * torch.tensor([0.01, 0.1, 1, 3, 10, 100]).view(-1, 1, 1, 1)
    rounded = fake_quantize_weight(weight)
    for original, channel in zip(weight, rounded, strict=True):
        step = original.abs().max() / WEIGHT_LEVELS
        assert _on_grid(channel, step), "each channel on its own grid"
        torch.testing.assert_close(channel.abs().max(), original.abs().max(), msg="the largest weight is kept")
        assert (channel - original).abs().max() <= step / 2 + 1e-6
        assert len(channel.unique()) <= 2 * WEIGHT_LEVELS + 1


def test_activations_round_to_8_bits_with_a_straight_through_gradient() -> None:
    x = torch.linspace(0, 3, 1000, requires_grad=True)
    rounded = fake_quantize_activation(x, maximum=2.0)
    assert _on_grid(rounded.detach(), torch.tensor(2.0 / ACTIVATION_LEVELS))
    assert rounded.max() == 2.0, "values over the calibrated maximum saturate"
    rounded.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x)), "straight-through: the rounding passes the gradient unchanged"


def test_callback_rounds_while_fitting_restores_before_the_step_and_leaves_no_trace() -> None:
    torch.manual_seed(0)
    net = VGGNet(widths=[4, 8], convs_per_stage=2, dropout=0.0).train()
    module = SimpleNamespace(net=net)
    keys = list(net.state_dict())
    originals = {name: p.detach().clone() for name, p in net.named_parameters()}
    x = torch.randn(4, 1, 40, 40)
    with torch.no_grad():
        plain = net.eval()(x)
    net.train()

    callback = QuantizationAwareTraining()
    callback.on_fit_start(None, module)
    callback.on_train_batch_start(None, module, None, 0)
    batch_norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(not bn.training for bn in batch_norms), "batch norm runs on its running statistics, as int8 folds it"
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    torch.testing.assert_close(conv.weight.detach(), fake_quantize_weight(originals["features.0.0.weight"]))
    relu_outputs = []
    relu = next(m for m in net.modules() if isinstance(m, nn.ReLU))
    probe = relu.register_forward_hook(lambda _m, _i, out: relu_outputs.append(out.detach()))
    net(x).sum().backward()
    probe.remove()
    step = relu_outputs[0].max() / ACTIVATION_LEVELS  # the first batch's maximum is the running one
    assert _on_grid(relu_outputs[0], step), "activations are rounded in the forward pass"
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0

    callback.on_before_optimizer_step(None, module, None)
    for name, parameter in net.named_parameters():
        assert torch.equal(parameter.detach(), originals[name]), f"{name}: the step must update full precision"
    callback.on_fit_end(None, module)
    assert list(net.state_dict()) == keys, "no parameter, buffer or parametrisation added"
    with torch.no_grad():
        assert torch.equal(net.eval()(x), plain), "after fitting the network computes what it did"


def test_qat_experiment_fine_tunes_a_student_file_with_frozen_batch_norm(tmp_path: Path, fer_dir: Path) -> None:
    torch.manual_seed(0)
    teacher_path, student_path = tmp_path / "teacher.pkl", tmp_path / "student.pkl"
    cfg = compose_train_config(
        tmp_path,
        fer_dir,
        [
            "experiment=fer_compact_pruned_qat",
            "model.net.widths=[4,8]",
            f"init_from={student_path}",
            f"teachers=[{teacher_path}]",
            "data.rounds=1",
            "trainer.max_epochs=1",
            "test=false",
        ],
    )
    preprocessing = Preprocessing(**cfg.augmentation.eval)
    for path, widths in ((teacher_path, [8, 16]), (student_path, [4, 8])):
        net = VGGNet(widths=widths, convs_per_stage=3, dropout=0.4).eval()
        save_model_file(path, ModelFile(net=net, architecture=architecture_of(net), preprocessing=preprocessing))
    before = load_model_file(student_path).net.state_dict()
    train(cfg)
    after = load_model_file(Path(cfg.export.path)).net.state_dict()
    assert after.keys() == before.keys()
    for name in before:
        if "running_" in name:
            torch.testing.assert_close(after[name], before[name], msg=f"{name}: batch norm statistics are frozen")
    assert not torch.equal(after["head.2.weight"], before["head.2.weight"]), "the weights were fine-tuned"
