"""Any timm backbone for 48x48 grayscale faces: upscaled input, 1-channel stem, new 7-class head."""

from __future__ import annotations

from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from torch import nn

from facial_emotion.models.registry import register_model
from facial_emotion.models.torchvision_mapping import map_torchvision_mobilenetv2


@register_model("timm")
class TimmBackbone(nn.Module):
    """A timm model by name. `pretrained_file` loads local weights (timm or torchvision MobileNetV2 layout),
    so nothing is downloaded; `pretrained=True` without a file uses timm's usual (online) source.
    """

    def __init__(
        self,
        model_name: str = "mobilenetv2_100",
        num_classes: int = 7,
        in_chans: int = 1,
        input_size: int = 96,
        drop_rate: float = 0.2,
        pretrained: bool = False,
        pretrained_file: str | None = None,
        frozen_stages: int = 0,
        backbone_lr_scale: float = 1.0,
    ) -> None:
        super().__init__()
        # Only what rebuilds the architecture goes into a model file: weights come from its state_dict.
        self.init_kwargs = {
            "model_name": model_name,
            "num_classes": num_classes,
            "in_chans": in_chans,
            "input_size": input_size,
            "drop_rate": drop_rate,
        }
        self.input_size = input_size
        self.backbone_lr_scale = backbone_lr_scale
        self.backbone = timm.create_model(
            model_name,
            pretrained=pretrained and not pretrained_file,
            num_classes=num_classes,
            in_chans=in_chans,
            drop_rate=drop_rate,
        )
        if pretrained_file:
            self.load_pretrained_file(Path(pretrained_file))
        if pretrained or pretrained_file:
            # timm's head init gives logits ~10 on pretrained features (loss ~10 at step 0); zero starts at log(7).
            classifier = self.backbone.get_classifier()
            nn.init.zeros_(classifier.weight)
            nn.init.zeros_(classifier.bias)
        self.freeze_stages(frozen_stages)
        self.num_features = self.backbone.num_features

    def load_pretrained_file(self, path: Path) -> None:
        """Load ImageNet weights from a local file; the classifier stays new."""
        if not path.is_file():
            raise FileNotFoundError(f"pretrained weights not found: {path}")
        source = torch.load(path, map_location="cpu", weights_only=True)
        source = source.get("state_dict", source)
        target = self.backbone.state_dict()
        if any(k.startswith("features.") for k in source):
            mapped = map_torchvision_mobilenetv2(source, target)
        else:
            mapped = {k: v for k, v in source.items() if k in target and v.shape == target[k].shape}
        self.backbone.load_state_dict(mapped, strict=False)

    def freeze_stages(self, count: int) -> None:
        """Freeze the stem and the first `count` blocks (count 0: train everything)."""
        if count <= 0:
            return
        blocks = getattr(self.backbone, "blocks", None) or getattr(self.backbone, "stages", None)
        if blocks is None:
            raise ValueError(f"{self.init_kwargs['model_name']} has no blocks/stages to freeze")
        frozen = [m for name, m in self.backbone.named_children() if name in ("conv_stem", "bn1", "stem")]
        for module in frozen + list(blocks[:count]):
            for parameter in module.parameters():
                parameter.requires_grad_(False)

    def parameter_groups(self) -> list[dict]:
        """Optimizer groups: the new head at the base learning rate, the backbone at `backbone_lr_scale` of it."""
        head = list(self.backbone.get_classifier().parameters())
        head_ids = {id(p) for p in head}
        body = [p for p in self.backbone.parameters() if id(p) not in head_ids and p.requires_grad]
        return [{"params": body, "lr_scale": self.backbone_lr_scale}, {"params": head, "lr_scale": 1.0}]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Faces -> pooled features, after upscaling to the backbone's input size."""
        if x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return self.backbone.forward_head(self.backbone.forward_features(x), pre_logits=True)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pooled features -> class logits."""
        return self.backbone.get_classifier()(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
