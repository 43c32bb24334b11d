"""Evaluation-time preprocessing shared by training, export and the predictor.

A `Preprocessing` is recorded in every model file, so inference applies exactly what the model was
validated with: uint8 -> [0, 1] -> normalise -> centre crop or test-time views, averaged softmax.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

# A mode is an optional scale prefix + a view set. `zoomed_` takes the views of the face shrunk halfway
# to the crop size (48 -> 44 px for 40-px crops), so each crop sees more of the face; `multi_scale_`
# takes them at both sizes. On the validation split multi_scale_ten_crop raised the accuracy of all four
# models tried (by 0.3-1.0 points over ten_crop); more crops at one scale did not. zoomed_center is one
# view, as cheap as center (the live stream's choice).
SINGLE_SCALE_VIEWS = {"center": 1, "hflip": 2, "ten_crop": 10}
SCALE_PREFIXES = {"multi_scale_": (False, True), "zoomed_": (True,)}  # prefix -> zoomed out? per scale
TTA_MODES = (*SINGLE_SCALE_VIEWS, "zoomed_center", "multi_scale_hflip", "multi_scale_ten_crop")


@dataclass(frozen=True)
class Preprocessing:
    """How a 48x48 uint8 face becomes network input. `tta` picks the views whose softmax is averaged."""

    input_size: int = 48
    crop_size: int = 40
    mean: float = 0.5
    std: float = 0.25
    tta: str = "ten_crop"

    def __post_init__(self) -> None:
        if self.tta not in TTA_MODES:
            raise ValueError(f"tta must be one of {TTA_MODES}, got {self.tta!r}")
        if not 0 < self.crop_size <= self.input_size:
            raise ValueError(f"crop_size must be in 1..{self.input_size}, got {self.crop_size}")

    def to_dict(self) -> dict:
        return asdict(self)


def to_normalized_float(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 (N, 1, H, W) -> float32 normalised; float input is assumed to be in [0, 255] too."""
    return (images.float() / 255.0 - mean) / std


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Central `size` x `size` window of (N, C, H, W)."""
    top = (x.shape[-2] - size) // 2
    left = (x.shape[-1] - size) // 2
    return x[..., top : top + size, left : left + size]


def split_tta(tta: str) -> tuple[tuple[bool, ...], str]:
    """A mode -> (for each scale: zoomed out?, the view set taken at every scale)."""
    for prefix, scales in SCALE_PREFIXES.items():
        if tta.startswith(prefix):
            return scales, tta.removeprefix(prefix)
    return (False,), tta


def test_time_views(x: torch.Tensor, crop_size: int, tta: str) -> torch.Tensor:
    """(N, C, H, W) -> (N * K, C, crop, crop), K views per image, image-major."""
    scales, view_set = split_tta(tta)
    if scales != (False,):
        images = [zoomed_out(x, crop_size) if zoomed else x for zoomed in scales]
        per_scale = [test_time_views(s, crop_size, view_set).unflatten(0, (x.shape[0], -1)) for s in images]
        return torch.cat(per_scale, dim=1).flatten(0, 1)
    if tta == "center":
        return center_crop(x, crop_size)
    if tta == "hflip":
        base = center_crop(x, crop_size)
        return torch.stack([base, base.flip(-1)], dim=1).flatten(0, 1)
    height, width = x.shape[-2:]
    corners = [(0, 0), (0, width - crop_size), (height - crop_size, 0), (height - crop_size, width - crop_size)]
    crops = [x[..., t : t + crop_size, s : s + crop_size] for t, s in corners] + [center_crop(x, crop_size)]
    crops += [c.flip(-1) for c in crops]
    return torch.stack(crops, dim=1).flatten(0, 1)


def zoomed_out(x: torch.Tensor, crop_size: int) -> torch.Tensor:
    """(N, C, H, W) resized (antialiased) to halfway between H and `crop_size`: a crop then shows more face."""
    height, width = x.shape[-2:]
    size = ((height + crop_size) // 2, (width + crop_size) // 2)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def views_per_image(tta: str) -> int:
    """How many views `test_time_views` makes per image."""
    scales, view_set = split_tta(tta)
    return len(scales) * SINGLE_SCALE_VIEWS[view_set]


def mean_view_probabilities(view_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(N, K, classes) view logits -> (N, classes): softmax of each view at `temperature`, averaged."""
    return F.softmax(view_logits.float() / temperature, dim=-1).mean(dim=1)


def average_view_logits(logits: torch.Tensor, tta: str, temperature: float = 1.0) -> torch.Tensor:
    """(N * K, classes) view logits -> (N, classes) log of the mean tempered softmax over views."""
    views = logits.view(-1, views_per_image(tta), logits.shape[-1])
    return mean_view_probabilities(views, temperature).clamp_min(1e-12).log()
