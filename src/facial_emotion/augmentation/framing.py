"""Photos that end close to the face: the crop's outside filled as the inference crop fills it.

A face cut to FER2013's framing out of a tightly cropped photo (a dataset crop, a profile picture, a film still)
needs pixels beyond the photo's edges; the croppers (video/face_aligner.py) repeat the edge pixels outwards
(`BORDER_REPLICATE`), so such crops carry smeared streaks where forehead, hair and background would be. On
sfew_train's film stills the median crop is 47% inside the photo. FER2013's faces never show this; this
augmentation does, on random sides of random training faces.
"""

from __future__ import annotations

import torch
from torch import nn


class TightFraming(nn.Module):
    """With probability `prob` per face, each side independently loses a margin drawn from U(0, max_margin)
    of the face's size and is refilled by repeating the last row or column kept (as `BORDER_REPLICATE`).
    Input and output: (N, C, H, W) faces, any dtype."""

    def __init__(self, prob: float = 0.5, max_margin: float = 0.3) -> None:
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must lie in [0, 1], got {prob}")
        if not 0.0 <= max_margin < 0.5:
            raise ValueError(f"max_margin must lie in [0, 0.5), got {max_margin}")
        self.prob = prob
        self.max_margin = max_margin

    def _kept_range(self, n: int, size: int, chosen: torch.Tensor, device: torch.device) -> torch.Tensor:
        """(n, size) source index of each output row (or column): the kept span's own, clamped at its ends."""
        first = (torch.rand(n, device=device) * self.max_margin * size).floor().long()
        last = size - 1 - (torch.rand(n, device=device) * self.max_margin * size).floor().long()
        first, last = torch.where(chosen, first, 0), torch.where(chosen, last, size - 1)
        positions = torch.arange(size, device=device).expand(n, size)
        return torch.minimum(torch.maximum(positions, first[:, None]), last[:, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, channels, height, width = x.shape
        if n == 0 or self.prob == 0 or self.max_margin == 0:
            return x
        chosen = torch.rand(n, device=x.device) < self.prob
        rows = self._kept_range(n, height, chosen, x.device)
        cols = self._kept_range(n, width, chosen, x.device)
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        channel = torch.arange(channels, device=x.device)[None, :, None, None]
        return x[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
