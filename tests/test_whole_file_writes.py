"""Caches written whole (core/whole_files.write_whole): a failed write leaves no partial file behind."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from facial_emotion.augmentation.batch_augmentation import BatchAugmentation
from facial_emotion.core.model_file import ModelFile, save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.datamodule import FaceTensorDataset
from facial_emotion.models.registry import architecture_of, build_model
from facial_emotion.training.distillation_views import DistillationDataModule
from tests.conftest import write_fer_csv


def _write_half_then_fail(path: Any) -> None:
    """A write cut short by a full disk: part of the file is there, then OSError."""
    Path(path).write_bytes(b"half a file")
    raise OSError(28, "No space left on device")


def test_a_failed_parse_cache_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    csv, cache = tmp_path / "train.csv", tmp_path / "cache"
    write_fer_csv(csv, 14, seed=1)
    with monkeypatch.context() as patched, caplog.at_level(logging.WARNING):
        patched.setattr(np, "savez", lambda file, **arrays: _write_half_then_fail(file))
        arrays = load_fer_csv(csv, cache)
    assert len(arrays.labels) == 14 and "could not write the parse cache" in caplog.text
    assert not list(cache.iterdir()), "a half-written temporary file was left in the cache folder"
    again = load_fer_csv(csv, cache)
    assert [p.suffix for p in cache.iterdir()] == [".npz"]
    np.testing.assert_array_equal(again.images, arrays.images)


def test_a_failed_distillation_views_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = Preprocessing(mean=0.5, std=0.25)
    torch.manual_seed(3)
    net = build_model("vgg", widths=[8, 16]).eval()
    teacher = tmp_path / "t.pkl"
    save_model_file(teacher, ModelFile(net=net, architecture=architecture_of(net), preprocessing=plain))
    data = DistillationDataModule(
        teachers=[str(teacher)],
        augmentation=BatchAugmentation(crop_size=40),
        mean=0.5,
        std=0.25,
        rounds=1,
        cache_dir=str(tmp_path / "cache"),
    )
    faces = FaceTensorDataset(np.random.default_rng(0).integers(0, 256, (6, 48, 48), dtype=np.uint8), np.arange(6))
    views_dir = tmp_path / "cache" / "distillation_views"
    with monkeypatch.context() as patched:
        patched.setattr(torch, "save", lambda obj, file, **options: _write_half_then_fail(file))
        with pytest.raises(OSError, match="No space left"):
            data._distillation_views(faces)
    assert not list(views_dir.iterdir()), "a half-written temporary file was left in the views cache"
    written = data._distillation_views(faces)
    (cached,) = views_dir.iterdir()
    assert cached.suffix == ".pt"
    assert torch.equal(data._distillation_views(faces).views, written.views)  # read back from the cache
