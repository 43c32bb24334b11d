"""Frozen teacher networks for knowledge distillation: the averaged class probabilities of trained model files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from facial_emotion.core.model_file import ModelFileError, provenance
from facial_emotion.models.loading import load_model_file


class TeacherEnsemble(nn.Module):
    """Loads model files once and returns the mean of their softened class probabilities.

    The teachers see exactly the (augmented, mixed) batch the student sees, so the student matches their
    function on every view instead of a fixed label per image. All teachers must share one input
    normalisation; they are frozen and always in eval mode (BatchNorm uses its running statistics).
    """

    def __init__(self, paths: Sequence[str | Path], temperature: float = 1.0) -> None:
        super().__init__()
        if isinstance(paths, str | Path):  # one file given without a list: not a teacher per character
            paths = [paths]
        if not paths:
            raise ModelFileError("distillation needs at least one teacher model file")
        if temperature <= 0:
            raise ValueError(f"distillation temperature must be positive, got {temperature}")
        models = [load_model_file(Path(p)) for p in paths]
        normalisations = {(m.preprocessing.mean, m.preprocessing.std, m.preprocessing.tone) for m in models}
        if len(normalisations) > 1:
            names = ", ".join(map(str, paths))
            differently = sorted(normalisations, key=str)
            raise ModelFileError(f"teachers {names} normalise their input differently: {differently}")
        self.temperature = float(temperature)
        self.normalisation = normalisations.pop()
        self.members = nn.ModuleList(m.net.to(memory_format=torch.channels_last) for m in models)
        self.records = [provenance(p, m) for p, m in zip(paths, models, strict=True)]
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> TeacherEnsemble:
        """Teachers stay in eval mode whatever the trainer asks."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised crops (N, 1, H, W) -> (N, classes) mean teacher probabilities at `temperature`."""
        x = x.contiguous(memory_format=torch.channels_last)
        return torch.stack([(net(x).float() / self.temperature).softmax(-1) for net in self.members]).mean(0)

    def describe(self) -> dict[str, Any]:
        """What a model file records of its teachers."""
        return {"temperature": self.temperature, "teachers": self.records}
