"""Training augmentation applied to whole batches on the training device (CPU or GPU).

One `affine_grid` + `grid_sample` does random crop, flip, rotation and scale together; random erasing
and mixup are vectorised too, so no per-image Python work is done.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class BatchAugmentation(nn.Module):
    """Random crop (+shift), horizontal flip, rotation, scale, random erasing; optional mixup."""

    def __init__(
        self,
        crop_size: int = 40,
        hflip: bool = True,
        max_rotation_deg: float = 10.0,
        scale_range: tuple[float, float] = (0.9, 1.1),
        erasing_prob: float = 0.5,
        erasing_area: tuple[float, float] = (0.02, 0.2),
        mixup_alpha: float = 0.0,
    ) -> None:
        super().__init__()
        self.crop_size = crop_size
        self.hflip = hflip
        self.max_rotation_deg = max_rotation_deg
        self.scale_range = tuple(scale_range)
        self.erasing_prob = erasing_prob
        self.erasing_area = tuple(erasing_area)
        self.mixup_alpha = mixup_alpha

    def geometric(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) float -> (N, C, crop, crop): random crop position, flip, rotation and scale."""
        n, _, height, width = x.shape
        device = x.device
        angle = (torch.rand(n, device=device) * 2 - 1) * math.radians(self.max_rotation_deg)
        low, high = self.scale_range
        scale = low + torch.rand(n, device=device) * (high - low)
        flip = (
            torch.where(torch.rand(n, device=device) < 0.5, -1.0, 1.0) if self.hflip else torch.ones(n, device=device)
        )
        # Output covers crop/size of the input; the crop centre moves up to (size - crop) / 2 pixels.
        extent_x = self.crop_size / width / scale
        extent_y = self.crop_size / height / scale
        shift_x = (torch.rand(n, device=device) * 2 - 1) * (width - self.crop_size) / width
        shift_y = (torch.rand(n, device=device) * 2 - 1) * (height - self.crop_size) / height
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack(
            [
                torch.stack([cos * extent_x * flip, -sin * extent_y, shift_x], dim=1),
                torch.stack([sin * extent_x * flip, cos * extent_y, shift_y], dim=1),
            ],
            dim=1,
        )
        grid = F.affine_grid(theta, [n, x.shape[1], self.crop_size, self.crop_size], align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def erase(self, x: torch.Tensor) -> torch.Tensor:
        """Set a random rectangle of each chosen image to 0 (the normalised mean)."""
        if self.erasing_prob <= 0:
            return x
        n, _, height, width = x.shape
        device = x.device
        area = self.erasing_area[0] + torch.rand(n, device=device) * (self.erasing_area[1] - self.erasing_area[0])
        log_ratio = (torch.rand(n, device=device) * 2 - 1) * math.log(3.0)
        ratio = torch.exp(log_ratio)
        eh = (torch.sqrt(area * ratio) * height).clamp(1, height)
        ew = (torch.sqrt(area / ratio) * width).clamp(1, width)
        top = torch.rand(n, device=device) * (height - eh)
        left = torch.rand(n, device=device) * (width - ew)
        rows = torch.arange(height, device=device).view(1, height, 1)
        cols = torch.arange(width, device=device).view(1, 1, width)
        inside = (
            (rows >= top.view(-1, 1, 1))
            & (rows < (top + eh).view(-1, 1, 1))
            & (cols >= left.view(-1, 1, 1))
            & (cols < (left + ew).view(-1, 1, 1))
        )
        chosen = (torch.rand(n, device=device) < self.erasing_prob).view(-1, 1, 1)
        return x.masked_fill((inside & chosen).unsqueeze(1), 0.0)

    def mix(self, x: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixup of images and (N, classes) soft targets with a Beta(alpha, alpha) weight."""
        if self.mixup_alpha <= 0:
            return x, targets
        lam = float(torch.distributions.Beta(self.mixup_alpha, self.mixup_alpha).sample())
        perm = torch.randperm(x.shape[0], device=x.device)
        return lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]

    def forward(self, x: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised float images (N, C, 48, 48) and soft targets -> augmented crops and targets."""
        return self.mix(self.erase(self.geometric(x)), targets)
