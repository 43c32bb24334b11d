"""Any timm backbone for 48x48 grayscale faces: upscaled input, 1-channel stem, new 7-class head."""

from __future__ import annotations

import difflib
from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file as load_safetensors
from timm.models import adapt_input_conv
from torch import nn

from facial_emotion.core.options import OptionError
from facial_emotion.models.registry import register_model
from facial_emotion.models.torchvision_mapping import WeightMappingError, map_torchvision_mobilenetv2


@register_model("timm")
class TimmBackbone(nn.Module):
    """A timm model by name. `pretrained_file` loads local weights (timm layout, .pth / .bin / .safetensors, or
    torchvision's MobileNetV2), so nothing is downloaded; `pretrained=True` without a file uses timm's usual (online)
    source.
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
        if not timm.is_model(model_name):
            close = difflib.get_close_matches(model_name, timm.list_models(), n=3, cutoff=0.7)
            hint = f" (closest: {', '.join(close)})" if close else " (timm.list_models() names them)"
            raise OptionError(f"model.net.model_name={model_name} is not a timm model{hint}")
        download = pretrained and not pretrained_file
        try:
            self.backbone = timm.create_model(
                model_name, pretrained=download, num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate
            )
        except Exception as error:  # a failed download: requests', huggingface_hub's or timm's own error types
            if not download:
                raise
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise FileNotFoundError(
                f"model.net.pretrained=true: timm could not fetch the {model_name} weights ({reason}); offline, give "
                "model.net.pretrained_file=<a .pth or .safetensors state dict>"
            ) from None
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
        """Load ImageNet weights from a local file: a timm state dict (`.pth`, `.bin` or `.safetensors`, as timm's
        hub ships them) or torchvision's MobileNetV2. The classifier stays new; a stem of fewer input channels gets the
        RGB filters summed (timm's `adapt_input_conv`). A file whose tensors do not cover the backbone, or hold more
        than it has, is refused (WeightMappingError): a partial load would train from random weights unsaid."""
        if not path.is_file():
            raise FileNotFoundError(f"model.net.pretrained_file: no file at {path}")
        source = _read_state_dict(path)
        target = self.backbone.state_dict()
        try:
            if any(k.startswith("features.") for k in source):
                mapped = map_torchvision_mobilenetv2(source, target)
            else:
                mapped = self._timm_layout(source, target)
        except WeightMappingError as error:
            layout = "torchvision MobileNetV2" if any(k.startswith("features.") for k in source) else "timm"
            raise WeightMappingError(
                f"model.net.pretrained_file={path} ({layout} weights) does not fit timm "
                f"{self.init_kwargs['model_name']}: {error}"
            ) from None
        self.backbone.load_state_dict(mapped, strict=False)  # all but the new classifier (and BN counters)

    def _timm_layout(self, source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`source` in timm's names, checked against `target`: its classifier dropped, its stem adapted."""
        heads = self.backbone.pretrained_cfg.get("classifier") or ()
        heads = (heads,) if isinstance(heads, str) else tuple(heads)
        first_conv = self.backbone.pretrained_cfg.get("first_conv")

        def kept(name: str) -> bool:
            return not any(name == h or name.startswith(f"{h}.") for h in heads)

        source = {k: v for k, v in source.items() if kept(k)}
        stem = f"{first_conv}.weight"
        if stem in source and stem in target and source[stem].shape[1] != target[stem].shape[1]:
            source[stem] = adapt_input_conv(target[stem].shape[1], source[stem])
        wanted = {k for k in target if kept(k) and not k.endswith("num_batches_tracked")}
        problems = {
            "tensors missing": wanted - source.keys(),
            "tensors of another shape": {k for k in wanted & source.keys() if source[k].shape != target[k].shape},
            "tensors the model does not have": {k for k in source.keys() - target.keys() if kept(k)},
        }
        found = [f"{len(names)} {what}, e.g. {min(names)}" for what, names in problems.items() if names]
        if found:
            raise WeightMappingError(f"{'; '.join(found)} (of the {len(wanted)} it needs)")
        return {k: v for k, v in source.items() if k in target}

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


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (safetensors, or a PyTorch state dict read with `weights_only=True`, unwrapped
    from a training checkpoint's `state_dict`); WeightMappingError naming the file when it is neither."""
    try:
        if path.suffix == ".safetensors":
            return load_safetensors(str(path))
        source = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load and safetensors raise many types for a foreign or damaged file
        raise WeightMappingError(
            f"model.net.pretrained_file={path} is not a weights file that loads safely ({type(error).__name__})"
        ) from None
    source = source.get("state_dict", source) if isinstance(source, dict) else source
    if not isinstance(source, dict) or not all(torch.is_tensor(v) for v in source.values()):
        raise WeightMappingError(f"model.net.pretrained_file={path} is not a state dict of tensors")
    return source
