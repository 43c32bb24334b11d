"""Map torchvision's MobileNetV2 parameter names onto timm's `mobilenetv2_100`, every tensor checked."""

from __future__ import annotations

import re

import torch

MOBILENETV2_STAGE_DEPTHS = (1, 2, 3, 4, 3, 3, 1)  # torchvision features.1..17 -> timm blocks.<stage>.<index>
_FIRST_BLOCK = {"conv.0.0": "conv_dw", "conv.0.1": "bn1", "conv.1": "conv_pw", "conv.2": "bn2"}
_INVERTED_RESIDUAL = {
    "conv.0.0": "conv_pw",
    "conv.0.1": "bn1",
    "conv.1.0": "conv_dw",
    "conv.1.1": "bn2",
    "conv.2": "conv_pwl",
    "conv.3": "bn3",
}


class WeightMappingError(ValueError):
    """A pretrained state dict does not map completely onto the target network."""


def _block_name(feature_index: int) -> str:
    remaining = feature_index - 1
    for stage, depth in enumerate(MOBILENETV2_STAGE_DEPTHS):
        if remaining < depth:
            return f"blocks.{stage}.{remaining}"
        remaining -= depth
    raise WeightMappingError(f"torchvision feature index {feature_index} is beyond MobileNetV2's 17 blocks")


def torchvision_to_timm_name(name: str) -> str | None:
    """timm name of a torchvision MobileNetV2 tensor; None for the ImageNet classifier (replaced)."""
    if name.startswith("classifier."):
        return None
    match = re.fullmatch(r"features\.(\d+)\.(.+)\.(\w+)", name)
    if not match:
        raise WeightMappingError(f"unexpected torchvision MobileNetV2 tensor name {name!r}")
    index, module, tensor = int(match.group(1)), match.group(2), match.group(3)
    if index == 0:
        return {"0": "conv_stem", "1": "bn1"}[module] + f".{tensor}"
    if index == 18:
        return {"0": "conv_head", "1": "bn2"}[module] + f".{tensor}"
    table = _FIRST_BLOCK if index == 1 else _INVERTED_RESIDUAL
    if module not in table:
        raise WeightMappingError(f"unexpected module {module!r} in torchvision tensor {name!r}")
    return f"{_block_name(index)}.{table[module]}.{tensor}"


def map_torchvision_mobilenetv2(
    source: dict[str, torch.Tensor],
    target: dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """A state dict for the timm target built from torchvision `source`.

    Every target tensor except the classifier must be filled, with matching shapes; a first convolution
    with fewer input channels (grayscale) gets the RGB kernels summed. Anything else raises.
    """
    mapped: dict[str, torch.Tensor] = {}
    for name, tensor in source.items():
        target_name = torchvision_to_timm_name(name)
        if target_name is None:
            continue
        if target_name not in target:
            raise WeightMappingError(f"{name} maps to {target_name}, which the timm model does not have")
        if target_name == "conv_stem.weight" and tensor.shape[1] != target[target_name].shape[1]:
            tensor = tensor.sum(dim=1, keepdim=True).repeat(1, target[target_name].shape[1], 1, 1)
            tensor = tensor / target[target_name].shape[1]
        if tensor.shape != target[target_name].shape:
            raise WeightMappingError(
                f"{name} {tuple(tensor.shape)} does not fit {target_name} {tuple(target[target_name].shape)}"
            )
        mapped[target_name] = tensor
    missing = sorted(k for k in target if k not in mapped and not k.startswith("classifier."))
    if missing:
        raise WeightMappingError(f"{len(missing)} timm tensors got no pretrained weight, e.g. {missing[:3]}")
    return mapped
