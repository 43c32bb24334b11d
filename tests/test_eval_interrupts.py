"""Ctrl-C in the measuring commands: one line, exit 130, no page or table half-written, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.models.vgg import VGGNet


def interrupt_after_first_line(command: list[str]) -> tuple[int, str]:
    """Start `command`, send it SIGINT (Ctrl-C) once it has printed its first line; its exit status and stderr."""
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("Hardware: "), first
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, stderr


def test_compare_models_stopped_writes_no_page(tmp_path: Path) -> None:
    torch.manual_seed(0)
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="center"), tmp_path / "a.pkl")
    page = tmp_path / "models.md"
    status, stderr = interrupt_after_first_line(
        [
            sys.executable,
            "scripts/compare_models.py",
            f"model_paths=[{tmp_path / 'a.pkl'}]",
            "repeats=1000000",
            f"output={page}",
        ]
    )
    assert status == 130 and stderr == "Stopped before every model file was timed: nothing written\n"
    assert not page.exists()


def test_benchmark_stopped_writes_no_speed_table(tmp_path: Path) -> None:
    torch.manual_seed(0)
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="center"), tmp_path / "a.pkl")
    table = tmp_path / "speed.md"
    status, stderr = interrupt_after_first_line(
        [
            sys.executable,
            "scripts/benchmark.py",
            "parse=false",
            "train=true",
            "steps=1000000",
            f"model_path={tmp_path / 'a.pkl'}",
            f"speed_table={table}",
        ]
    )
    assert status == 130 and stderr == "Stopped before the measurements ended: the speed table was not written\n"
    assert not table.exists()
