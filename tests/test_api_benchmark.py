"""`scripts/benchmark_api.py` refuses a bad option in one line, before loading a model or timing anything."""

from __future__ import annotations

import subprocess
import sys

import pytest

from facial_emotion.data.locate import PROJECT_ROOT


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("threads=abc", "error: threads must be a whole number, got 'abc'"),  # was torch's RuntimeError traceback
        ("repeats=0", "error: repeats must be a whole number >= 1, got 0"),  # was a table of nan frames/s
        ("every=-1", "error: every must be a number >= 0, got -1"),  # was a ValueError traceback after warm-up
    ],
    ids=["text-threads", "no-repeats", "negative-every"],
)
def test_a_bad_option_is_one_line_and_exit_2(override: str, message: str) -> None:
    script = [sys.executable, "scripts/benchmark_api.py", override]
    result = subprocess.run(script, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message and result.stdout == ""
