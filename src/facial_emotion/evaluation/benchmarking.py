"""Throughput measurements: CSV parsing, training steps per precision, inference per face.

Every figure is printed beside the hardware it was measured on; nothing here asserts anything.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facial_emotion.augmentation.batch_augmentation import BatchAugmentation
from facial_emotion.augmentation.preprocessing import to_normalized_float
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.inference.predictor import EmotionPredictor


def time_csv_parse(csv_path: Path) -> tuple[float, float]:
    """Seconds to load `csv_path` cold (empty cache) and cached."""
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        load_fer_csv(csv_path, Path(cache_dir))
        cold = time.perf_counter() - start
        start = time.perf_counter()
        load_fer_csv(csv_path, Path(cache_dir))
        return cold, time.perf_counter() - start


def training_throughput(
    net: nn.Module,
    precision: str,
    device: str = "cpu",
    batch_size: int = 128,
    crop_size: int = 40,
    steps: int = 20,
    warmup: int = 3,
) -> float:
    """Images/s of full training steps (augmentation, forward, backward, SGD) on random uint8 faces."""
    net = net.to(device).train()
    channels_last = "channels_last" in precision
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    augment = BatchAugmentation(crop_size=crop_size)
    images = torch.randint(0, 256, (batch_size, 1, 48, 48), dtype=torch.uint8, device=device)
    targets = F.one_hot(torch.randint(0, 7, (batch_size,), device=device), 7).float()
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    autocast = (
        torch.autocast(device_type, dtype=torch.bfloat16) if precision.startswith("bf16") else contextlib.nullcontext()
    )

    def step() -> None:
        x, y = augment(to_normalized_float(images, 0.5, 0.25), targets)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            loss = F.cross_entropy(net(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)


def inference_latency(predictor: EmotionPredictor, batch_size: int, repeats: int = 20) -> float:
    """Milliseconds per face for `predictor.predict_proba` at `batch_size` (median of `repeats`)."""
    faces = np.random.default_rng(0).integers(0, 256, (batch_size, 48, 48), dtype=np.uint8)
    predictor.predict_proba(faces)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict_proba(faces)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times)) / batch_size


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
