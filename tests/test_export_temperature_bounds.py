"""Training's export warns, as scripts/calibrate.py does, when a temperature fit lands on an end of its search."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from facial_emotion.core.calibration import SEARCH_BOUNDS, bound_warnings
from facial_emotion.core.preprocessing import TTA_MODES, Preprocessing
from facial_emotion.export.exporter import export_model
from facial_emotion.models.vgg import VGGNet


def test_an_export_whose_fits_hit_the_search_bound_logs_one_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A model sure of one class on every face (a 1-epoch one) was exported with T = 4.205 for every view set, ECE
    still 16%, and nothing said; calibrate.py said it of the same file."""
    torch.manual_seed(0)
    net = VGGNet(widths=(8, 16), convs_per_stage=1)
    with torch.no_grad():
        net.head[-1].bias.copy_(torch.tensor([0.0, 0.0, 0.0, 30.0, 0.0, 0.0, 0.0]))
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (24, 48, 48), dtype=np.uint8), np.arange(24) % 7
    with caplog.at_level(logging.INFO, logger="facial_emotion"):
        model = export_model(net, Preprocessing(), tmp_path / "m.pkl", images, labels)
    assert all(value == pytest.approx(SEARCH_BOUNDS[1]) for value in model.temperatures.values())
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, [record.getMessage() for record in caplog.records]
    assert warnings[0].name == "facial_emotion.export.exporter"
    assert warnings[0].getMessage() == (
        f"export: {', '.join(TTA_MODES)}: the fitted temperature is the search's upper bound, T = 4.205; the best "
        "lies beyond it: the model stays far from calibrated, as under-trained ones do"
    )


def test_the_wording_is_calibrate_pys_without_its_prefix_and_table() -> None:
    temperatures = {"center": SEARCH_BOUNDS[0], "hflip": 1.2}
    (said,) = bound_warnings(temperatures)  # calibrate.py's line, under its table of ECEs
    (logged,) = bound_warnings(temperatures, prefix="", ece="")
    assert said == "warning: " + logged.replace("far from calibrated,", "far from calibrated (its ECE above),")
    assert logged.startswith("center: the fitted temperature is the search's lower bound, T = 0.238; ")
