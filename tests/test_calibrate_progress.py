"""scripts/calibrate.py says when a temperature fit hit the end of its search, and shows the validation pass's
progress (it ran 4-7 minutes without a line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facial_emotion.core.calibration import SEARCH_BOUNDS, fit_temperature, search_bound
from facial_emotion.core.preprocessing import TTA_MODES, Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.export.temperatures import uncalibrated_view_logits
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks.calibrate import bound_warnings


def view_logits(scale: float, correct: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(400, 2, 7) logits whose top class is the label on a `correct` fraction of faces, at a margin of `scale`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 7, 400)
    top = np.where(rng.random(400) < correct, labels, (labels + 1) % 7)
    logits = rng.normal(0, 0.1, (400, 2, 7))
    logits[np.arange(400), :, top] += scale
    return torch.from_numpy(logits).float(), torch.from_numpy(labels)


def test_a_fit_at_either_end_of_the_search_is_told_apart_from_one_inside() -> None:
    too_sure = fit_temperature(*view_logits(scale=30.0, correct=0.3))  # right on 30%, certain every time
    too_unsure = fit_temperature(*view_logits(scale=0.3, correct=1.0))  # always right, barely above chance
    inside = fit_temperature(*view_logits(scale=3.0, correct=0.7))
    assert too_sure == pytest.approx(SEARCH_BOUNDS[1]) and search_bound(too_sure) == "upper"
    assert too_unsure == pytest.approx(SEARCH_BOUNDS[0]) and search_bound(too_unsure) == "lower"
    assert SEARCH_BOUNDS[0] < inside < SEARCH_BOUNDS[1] and search_bound(inside) is None
    assert search_bound(4.0) is None and search_bound(0.25) is None  # the coarse grid's ends are inside the search


def test_one_warning_line_per_bound_names_its_view_sets() -> None:
    assert bound_warnings({"center": 1.3, "hflip": 1.2}) == []
    upper, lower = SEARCH_BOUNDS[1], SEARCH_BOUNDS[0]
    lines = bound_warnings({"center": upper, "hflip": 1.2, "ten_crop": upper, "zoomed_center": lower})
    assert len(lines) == 2
    assert lines[0].startswith("warning: zoomed_center: the fitted temperature is the search's lower bound, T = 0.238")
    assert lines[1].startswith(
        "warning: center, ten_crop: the fitted temperature is the search's upper bound, T = 4.205"
    )
    assert all("far from calibrated" in line and "under-trained" in line for line in lines)


def test_the_pass_with_progress_gives_the_exports_logits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model_path = tmp_path / "model.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(), model_path)
    images = np.random.default_rng(0).integers(0, 256, (9, 48, 48), dtype=np.uint8)
    shown = uncalibrated_view_logits(model_path, images, "torch", progress="validation faces")
    assert "validation faces" in capsys.readouterr().err  # the bar, on stderr
    expected = uncalibrated_view_logits(model_path, images, "torch")
    assert capsys.readouterr().err == ""  # no bar unless asked (the export's own pass)
    assert list(shown) == list(TTA_MODES)
    for tta in TTA_MODES:
        torch.testing.assert_close(shown[tta], expected[tta], rtol=0, atol=0)


def test_the_script_shows_progress_and_warns_of_a_fit_at_the_bound(tmp_path: Path, fer_dir: Path) -> None:
    """A model sure of one class on every face (a 1-epoch one fitted T = 4.205 for every view set, ECE still 16%)."""
    torch.manual_seed(0)
    net = VGGNet(widths=(8, 16), convs_per_stage=1)
    with torch.no_grad():
        net.head[-1].bias.copy_(torch.tensor([0.0, 0.0, 0.0, 30.0, 0.0, 0.0, 0.0]))
    model_path = tmp_path / "model.pkl"
    export_model(net, Preprocessing(), model_path)
    command = [sys.executable, "scripts/calibrate.py", f"model_path={model_path}", f"paths.data_dir={fer_dir}"]
    command += [f"paths.cache_dir={tmp_path}", "min_faces=0", "backend=torch", "early_exit=none"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith(f"warning: {', '.join(TTA_MODES)}: the fitted temperature is the search's upper")
    assert "validation faces (20 views each)" in result.stderr and "14/14" in result.stderr
    assert "T 1.000 -> 4.205" in result.stdout
