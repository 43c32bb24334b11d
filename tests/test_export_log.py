"""What an export logs names the files the user keeps, not the temporary side copy it fits temperatures on."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.export.exporter import export_model
from facial_emotion.models.vgg import VGGNet


def test_the_export_log_names_the_model_file_not_the_deleted_side_copys_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """It logged `built <temp>/fer-export-*/.cache/m.<hash>.fp32.onnx`, a path deleted right after."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (20, 48, 48), dtype=np.uint8), rng.integers(0, 7, 20)
    torch.manual_seed(0)
    with caplog.at_level(logging.INFO, logger="facial_emotion"):
        export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(), tmp_path / "m.pkl", images, labels)
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if str(temp) in m or "fer-export-" in m], messages
    assert [m for m in messages if m.startswith("built the fp32 graph of m.pkl (")], messages
