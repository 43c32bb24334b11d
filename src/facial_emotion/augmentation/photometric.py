"""What real cameras do to a face, applied batch-wise to grey faces in [0, 1] before normalisation.

FER2013's faces are web images already converted to 48x48 grey; a webcam or a film still differs in
exposure, contrast, gamma, focus, sensor noise, JPEG compression and resolution (a small face upscaled to
48 px). Each effect hits a random subset of the batch with per-image strengths.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.io import decode_jpeg, encode_jpeg


class PhotometricAugmentation(nn.Module):
    """Brightness, contrast, gamma, Gaussian blur, sensor noise, down-and-up scaling and JPEG, each with its
    own probability. Input and output: float (N, 1, H, W) in [0, 1]."""

    def __init__(
        self,
        prob: float = 0.5,
        brightness: float = 0.2,
        contrast: float = 0.4,
        gamma: float = 0.4,
        blur_prob: float = 0.2,
        blur_sigma: tuple[float, float] = (0.4, 1.2),
        noise_prob: float = 0.2,
        noise_std: tuple[float, float] = (0.01, 0.05),
        rescale_prob: float = 0.2,
        rescale_range: tuple[float, float] = (0.4, 0.8),
        jpeg_prob: float = 0.2,
        jpeg_quality: tuple[int, int] = (30, 90),
    ) -> None:
        super().__init__()
        self.prob = prob
        self.brightness = brightness
        self.contrast = contrast
        self.gamma = gamma
        self.blur_prob = blur_prob
        self.blur_sigma = tuple(blur_sigma)
        self.noise_prob = noise_prob
        self.noise_std = tuple(noise_std)
        self.rescale_prob = rescale_prob
        self.rescale_range = tuple(rescale_range)
        self.jpeg_prob = jpeg_prob
        self.jpeg_quality = tuple(jpeg_quality)

    @staticmethod
    def _uniform(n: int, low: float, high: float, device: torch.device) -> torch.Tensor:
        return (low + torch.rand(n, device=device) * (high - low)).view(n, 1, 1, 1)

    @staticmethod
    def _chosen(n: int, prob: float, device: torch.device) -> torch.Tensor:
        return (torch.rand(n, device=device) < prob).view(n, 1, 1, 1)

    def tone(self, x: torch.Tensor) -> torch.Tensor:
        """Exposure (added brightness), contrast about each image's mean, and gamma."""
        n, device = x.shape[0], x.device
        chosen = self._chosen(n, self.prob, device)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        contrast = self._uniform(n, 1 - self.contrast, 1 + self.contrast, device)
        brightness = self._uniform(n, -self.brightness, self.brightness, device)
        gamma = torch.exp(self._uniform(n, -self.gamma, self.gamma, device))
        toned = ((x - mean) * contrast + mean + brightness).clamp(0, 1) ** gamma
        return torch.where(chosen, toned, x)

    def blur(self, x: torch.Tensor) -> torch.Tensor:
        """Gaussian blur, one sigma per image (a depthwise convolution with per-image kernels)."""
        n, channels, height, width = x.shape
        chosen = self._chosen(n, self.blur_prob, x.device)
        if not chosen.any():
            return x
        sigma = self._uniform(n, *self.blur_sigma, x.device).view(n, 1)
        radius = math.ceil(3 * self.blur_sigma[1])
        offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype).view(1, -1)
        kernel_1d = torch.exp(-(offsets**2) / (2 * sigma**2))
        kernel_1d = kernel_1d / kernel_1d.sum(dim=1, keepdim=True)
        kernels = (kernel_1d.unsqueeze(2) * kernel_1d.unsqueeze(1)).repeat_interleave(channels, dim=0)
        padded = F.pad(x.reshape(1, n * channels, height, width), [radius] * 4, mode="replicate")
        blurred = F.conv2d(padded, kernels.unsqueeze(1), groups=n * channels).view_as(x)
        return torch.where(chosen, blurred, x)

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """Additive Gaussian sensor noise."""
        n = x.shape[0]
        chosen = self._chosen(n, self.noise_prob, x.device)
        std = self._uniform(n, *self.noise_std, x.device)
        return torch.where(chosen, (x + torch.randn_like(x) * std).clamp(0, 1), x)

    def rescale(self, x: torch.Tensor) -> torch.Tensor:
        """Down to a random fraction of the size and back up (a small, upscaled face); one size per batch."""
        n, _, height, width = x.shape
        chosen = self._chosen(n, self.rescale_prob, x.device)
        if not chosen.any():
            return x
        factor = float(self._uniform(1, *self.rescale_range, x.device))
        small = F.interpolate(
            x,
            size=(max(8, round(height * factor)), max(8, round(width * factor))),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        restored = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)
        return torch.where(chosen, restored, x)

    def jpeg(self, x: torch.Tensor) -> torch.Tensor:
        """JPEG compression at a random quality, image by image (torchvision's codec, on the CPU)."""
        chosen = torch.nonzero(torch.rand(x.shape[0]) < self.jpeg_prob).flatten().tolist()
        if not chosen:
            return x
        out = x.clone()
        low, high = self.jpeg_quality
        for index in chosen:
            grey = (x[index].detach().cpu() * 255).round().to(torch.uint8)
            quality = int(torch.randint(low, high + 1, (1,)))
            decoded = decode_jpeg(encode_jpeg(grey, quality=quality))
            out[index] = decoded.to(x.device, x.dtype) / 255.0
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float (N, 1, H, W) faces in [0, 1] -> the same faces as some real camera might have taken them."""
        return self.jpeg(self.noise(self.blur(self.rescale(self.tone(x)))))
