"""VGG-style CNN for 48x48 (or cropped 40-44 px) grayscale faces, built from config."""

from __future__ import annotations

import torch
from torch import nn

from facial_emotion.models.registry import register_model


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


@register_model("vgg")
class VGGNet(nn.Module):
    """Stages of `convs_per_stage` conv-BN-ReLU, 2x2 max-pool after each, global average pool, linear head."""

    def __init__(
        self,
        widths: tuple[int, ...] | list[int] = (48, 96, 192, 384),
        convs_per_stage: int = 2,
        dropout: float = 0.3,
        num_classes: int = 7,
        in_chans: int = 1,
    ) -> None:
        super().__init__()
        self.init_kwargs = {
            "widths": list(widths),
            "convs_per_stage": convs_per_stage,
            "dropout": dropout,
            "num_classes": num_classes,
            "in_chans": in_chans,
        }
        layers: list[nn.Module] = []
        channels = in_chans
        for width in widths:
            for _ in range(convs_per_stage):
                layers.append(conv_bn_relu(channels, width))
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes))
        self.num_features = channels
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> pooled feature vector (N, num_features)."""
        return self.pool(self.features(x)).flatten(1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pooled features -> class logits."""
        return self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
