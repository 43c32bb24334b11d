"""Start a narrower VGG from a wider one: keep each layer's most important channels (network slimming).

A compact student initialised this way starts from the teacher's features instead of random ones, so
distillation on a CPU needs a few epochs of fine-tuning rather than a from-scratch run. The importance of an
output channel is the magnitude of its batch-norm scale |gamma| (Liu et al., "Learning Efficient
Convolutional Networks through Network Slimming", 2017): a channel the network scales towards zero carries
little of the signal. The next layer keeps the input slices of the channels kept.
"""

from __future__ import annotations

import torch
from torch import nn

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.models.vgg import VGGNet


def _conv_blocks(net: VGGNet) -> list[nn.Sequential]:
    return [block for block in net.features if isinstance(block, nn.Sequential)]


def _check_compatible(narrow: VGGNet, wide: VGGNet) -> None:
    n, w = narrow.init_kwargs, wide.init_kwargs
    same = ("convs_per_stage", "num_classes", "in_chans")
    if any(n[key] != w[key] for key in same) or len(n["widths"]) != len(w["widths"]):
        raise ModelFileError(
            f"cannot prune VGG {w} into VGG {n}: stages, convs per stage, classes and input channels must match"
        )
    wider = [f"{a} > {b}" for a, b in zip(n["widths"], w["widths"], strict=True) if a > b]
    if wider:
        raise ModelFileError(f"cannot prune VGG {w['widths']} into wider VGG {n['widths']} ({', '.join(wider)})")


@torch.no_grad()
def prune_into(narrow: VGGNet, wide: VGGNet) -> list[torch.Tensor]:
    """Copy into `narrow` the most important channels of `wide` (same depth, widths <= wide's); return them.

    Each layer keeps its `width` output channels with the largest |BN gamma|, in their original order;
    the returned list holds the kept indices per conv layer. Running statistics are copied with the weights,
    so the pruned network is a usable (if less accurate) classifier before any fine-tuning.
    """
    _check_compatible(narrow, wide)
    kept_inputs = torch.arange(wide.init_kwargs["in_chans"])
    kept_per_layer = []
    for small, large in zip(_conv_blocks(narrow), _conv_blocks(wide), strict=True):
        small_conv, small_bn = small[0], small[1]
        large_conv, large_bn = large[0], large[1]
        order = large_bn.weight.abs().argsort(descending=True)
        kept = order[: small_conv.out_channels].sort().values
        small_conv.weight.copy_(large_conv.weight[kept][:, kept_inputs])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(small_bn, name).copy_(getattr(large_bn, name)[kept])
        small_bn.num_batches_tracked.copy_(large_bn.num_batches_tracked)
        kept_per_layer.append(kept)
        kept_inputs = kept
    small_head, large_head = narrow.head[-1], wide.head[-1]
    small_head.weight.copy_(large_head.weight[:, kept_inputs])
    small_head.bias.copy_(large_head.bias)
    return kept_per_layer
