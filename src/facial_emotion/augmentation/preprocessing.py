"""Evaluation-time preprocessing shared by training, export and the predictor.

A `Preprocessing` is recorded in every model file, so inference applies exactly what the model was
validated with: uint8 -> (tone) -> [0, 1] -> normalise -> centre crop or test-time views, averaged softmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facial_emotion.core.calibration import mean_view_probabilities
from facial_emotion.core.preprocessing import Preprocessing, split_tta, views_per_image


def to_normalized_float(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 (N, 1, H, W) -> float32 normalised; float input is assumed to be in [0, 255] too."""
    return (images.float() / 255.0 - mean) / std


def normalize_tone(images: torch.Tensor, tone: tuple[float, float], region: int) -> torch.Tensor:
    """Pixel values (N, 1, H, W) in 0..255 -> each face shifted and scaled so that its central `region` square
    has mean and standard deviation `tone`, clipped to 0..255 (differentiable).

    Exposure and contrast then carry no information: FER2013's Sad faces are darker and its Surprise faces
    brighter than the rest, a cue a network learns and that a dark film still or a dim webcam turns into Sad.
    """
    x = images.float()
    centre = center_crop(x, region)
    mean = centre.mean(dim=(-2, -1), keepdim=True)
    std = centre.std(dim=(-2, -1), keepdim=True, unbiased=False).clamp_min(1.0)
    return ((x - mean) / std * tone[1] + tone[0]).clamp(0.0, 255.0)


def to_network_input(images: torch.Tensor, preprocessing: Preprocessing) -> torch.Tensor:
    """Faces (N, 1, H, W), uint8 or float in 0..255 -> float32 network input as `preprocessing` records it."""
    if preprocessing.tone is not None:
        images = normalize_tone(images, preprocessing.tone, preprocessing.crop_size)
    return to_normalized_float(images, preprocessing.mean, preprocessing.std)


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Central `size` x `size` window of (N, C, H, W)."""
    top = (x.shape[-2] - size) // 2
    left = (x.shape[-1] - size) // 2
    return x[..., top : top + size, left : left + size]


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


def average_view_logits(logits: torch.Tensor, tta: str, temperature: float = 1.0) -> torch.Tensor:
    """(N * K, classes) view logits -> (N, classes) log of the mean tempered softmax over views."""
    views = logits.view(-1, views_per_image(tta), logits.shape[-1])
    return mean_view_probabilities(views, temperature).clamp_min(1e-12).log()
