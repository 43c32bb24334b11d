"""Quantisation-aware fine-tuning: train the fp32 network under the rounding its int8 graph will apply.

The int8 graph (`inference/int8.py`) rounds every conv and linear weight per output channel to the 7-bit range
and every activation entering a conv or the head to 8 bits. A compact student's top-1 choice flips under that
rounding on more faces than the 1% the graph is allowed, spread over the whole network rather than one layer.
Fine-tuning a few epochs with the same rounding in the forward pass (straight-through: the gradient at the
rounded weights updates the full-precision ones) is meant to move it to weights whose decisions survive it. On
the pruned student it did not (98.8% -> 98.7% agreement, docs/training.md): kept as the tool to build on.

Nothing here changes the network or its state dict: weights are swapped for their rounded copies for the
forward and backward pass of each batch and restored before the optimizer step; activations are rounded by
forward hooks that exist only while fitting. Batch norm uses its running statistics while fine-tuning, as the
folded int8 graph does.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

WEIGHT_LEVELS = 64  # ONNX Runtime's symmetric int8 weights with reduce_range: [-64, 64]
ACTIVATION_LEVELS = 255  # 8-bit activations, asymmetric: [0, max] after a ReLU or a pool


def fake_quantize_weight(weight: torch.Tensor) -> torch.Tensor:
    """Round each output channel to `WEIGHT_LEVELS` steps either side of zero, its own scale (max |w|)."""
    flat = weight.reshape(weight.shape[0], -1)
    scale = flat.abs().amax(dim=1).clamp_min(1e-12) / WEIGHT_LEVELS
    shape = (-1,) + (1,) * (weight.dim() - 1)
    return (weight / scale.view(shape)).round().clamp(-WEIGHT_LEVELS, WEIGHT_LEVELS) * scale.view(shape)


def fake_quantize_activation(x: torch.Tensor, maximum: float) -> torch.Tensor:
    """Round non-negative activations to `ACTIVATION_LEVELS` steps over [0, maximum], straight-through."""
    scale = max(maximum, 1e-12) / ACTIVATION_LEVELS
    rounded = (x / scale).round().clamp(0, ACTIVATION_LEVELS) * scale
    return x + (rounded - x).detach()


class QuantizationAwareTraining(L.Callback):
    """Fine-tune `pl_module.net` under int8 rounding (see the module docstring)."""

    def __init__(self) -> None:
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []
        self._maxima: dict[nn.Module, float] = {}
        self._saved: list[tuple[nn.Parameter, torch.Tensor]] = []

    @staticmethod
    def _rounded_parameters(net: nn.Module) -> list[nn.Parameter]:
        return [m.weight for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]

    def _round_output(self, module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if not module.training:
            return output
        # The largest value seen so far, as ONNX Runtime's MinMax calibration takes the maximum over all its views.
        running = max(self._maxima.get(module, 0.0), float(output.detach().float().amax()))
        self._maxima[module] = running
        return fake_quantize_activation(output.float(), running).to(output.dtype)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The inputs of every conv after the first and of the head: ReLU and pooling outputs.
        rounded = (nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d)
        self._hooks = [
            m.register_forward_hook(self._round_output) for m in pl_module.net.modules() if isinstance(m, rounded)
        ]
        if not self._rounded_parameters(pl_module.net):
            raise ValueError("quantisation-aware training found no conv or linear weights to round")

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        for module in pl_module.net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        self._saved = []
        with torch.no_grad():
            for weight in self._rounded_parameters(pl_module.net):
                self._saved.append((weight, weight.detach().clone()))
                weight.copy_(fake_quantize_weight(weight))

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> None:
        self._restore()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        self._restore()  # a skipped optimizer step (e.g. a non-finite loss) must not leave rounded weights

    def _restore(self) -> None:
        with torch.no_grad():
            for weight, original in self._saved:
                weight.copy_(original)
        self._saved = []
