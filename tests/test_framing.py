"""Tight framing: training faces cut as a tightly cropped photo is, for the student only; a real distilled fit."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from facial_emotion.augmentation.framing import TightFraming
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks.train import train
from tests.conftest import tiny_teacher_distill_config


def faces(n: int = 8) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).integers(0, 256, (n, 1, 48, 48), dtype=np.uint8))


def kept_span(image: np.ndarray) -> tuple[int, int]:
    """First and last row not repeated from its neighbour outwards (random faces have no two equal rows)."""
    first = max(r for r in range(len(image)) if (image[: r + 1] == image[0]).all())
    last = min(r for r in range(len(image)) if (image[r:] == image[-1]).all())
    return first, last


def test_framed_faces_repeat_the_edge_of_what_they_keep_as_the_croppers_do() -> None:
    torch.manual_seed(0)
    x = faces()
    framed = TightFraming(prob=1.0, max_margin=0.3)(x)
    assert framed.shape == x.shape and framed.dtype == torch.uint8
    for face, out in zip(x[:, 0].numpy(), framed[:, 0].numpy(), strict=True):
        top, bottom = kept_span(out)
        left, right = kept_span(out.T)
        assert top <= 15 and bottom >= 32 and left <= 15 and right >= 32  # at most 30% of 48 px lost per side
        kept = face[top : bottom + 1, left : right + 1]
        np.testing.assert_array_equal(out[top : bottom + 1, left : right + 1], kept)
        # Beyond the kept part: what OpenCV's BORDER_REPLICATE (the croppers' border) makes of it.
        sides = (top, 47 - bottom, left, 47 - right)
        np.testing.assert_array_equal(out, cv2.copyMakeBorder(kept, *sides, cv2.BORDER_REPLICATE))
    assert (framed != x).any(dim=(1, 2, 3)).float().mean() > 0.5  # most faces lost something


def test_framing_is_off_at_zero_probability_and_refuses_bad_settings() -> None:
    x = faces()
    torch.testing.assert_close(TightFraming(prob=0.0)(x), x)
    torch.testing.assert_close(TightFraming(max_margin=0.0)(x), x)
    with pytest.raises(ValueError, match=r"prob must lie in \[0, 1\]"):
        TightFraming(prob=1.5)
    with pytest.raises(ValueError, match=r"max_margin must lie in \[0, 0.5\)"):
        TightFraming(max_margin=0.5)


def test_the_student_sees_framed_faces_and_its_teacher_the_whole_ones(tmp_path: Path, fer_dir: Path) -> None:
    # The student's own normalisation: only the framing makes the two inputs differ.
    student_preprocessing = Preprocessing(mean=0.5077, std=0.2550)
    overrides = ["augmentation=tight_framing", "augmentation.framing.prob=1.0"]
    cfg, _ = tiny_teacher_distill_config(tmp_path, fer_dir, student_preprocessing, overrides)
    module = instantiate(cfg.model)
    assert isinstance(module.framing, TightFraming) and module._teacher_preprocessing is None
    seen: list[torch.Tensor] = []
    module.teacher.register_forward_pre_hook(lambda _, args: seen.append(args[0].clone()))
    student: list[torch.Tensor] = []
    module.net.register_forward_pre_hook(lambda _, args: student.append(args[0].clone()))
    x = faces(4)
    torch.manual_seed(1)
    module.training_step((x, torch.zeros(4, dtype=torch.long)), 0)
    torch.manual_seed(1)
    framed = module.framing(x)
    expected_student, _ = module.augmentation(module._normalize(framed), torch.zeros(4, 7))
    torch.manual_seed(1)
    module.framing(x)  # the same random draws as in the step, then the same crops and flips for the teacher
    expected_teacher, _ = module.augmentation(module._normalize(x), torch.zeros(4, 7))
    torch.testing.assert_close(student[0], expected_student)
    torch.testing.assert_close(seen[0], expected_teacher)
    assert (seen[0] - student[0]).abs().mean() > 0.1

    metrics = train(cfg)  # a real fit and export with framing on
    assert np.isfinite(metrics["train/loss"])
    assert load_model_file(Path(cfg.export.path)).preprocessing.input_size == 48
