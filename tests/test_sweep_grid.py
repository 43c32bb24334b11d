"""Grid sweeps (`train.py -m a=1,2`) past a job that train.py refuses for bad input, on tiny synthetic data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from facial_emotion.data.locate import PROJECT_ROOT
from tests.conftest import write_fer_csv
from tests.test_sweeps import ENV, compare_runs, summary, tiny_overrides


def test_a_refused_combination_ends_its_job_not_the_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """data.val_fraction=1.5 is refused (`error: ...`) and the next combination still runs (the exit used to end the
    sweep there); the refused job is listed at the end, exit status 2, no traceback."""
    (tmp_path / "fer").mkdir()
    write_fer_csv(tmp_path / "fer" / "train.csv", 140, seed=1)
    write_fer_csv(tmp_path / "fer" / "test_with_emotions.csv.gz", 42, seed=2, gz=True)
    sweep_dir = tmp_path / "sweep"
    command = [sys.executable, "scripts/train.py", "-m", f"hydra.sweep.dir={sweep_dir}", *tiny_overrides(tmp_path)]
    result = subprocess.run(
        [*command, "data.val_fraction=0.2,1.5,0.3", "trainer.fast_dev_run=true"],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    error = "OptionError: data.val_fraction must be a number between 0 and 1 (both excluded), got 1.5"
    assert [summary(sweep_dir / str(job)).get("status") for job in range(3)] == ["completed", "refused", "completed"]
    assert summary(sweep_dir / "1")["error"] == error
    lines = result.stderr.splitlines()
    assert f"  job 1 (data.val_fraction=1.5) in {sweep_dir / '1'}: {error}" in lines
    assert lines[-1] == ("error: 1 of 3 jobs of this sweep were refused for bad input (listed above); the others ran")
    # compare_runs leaves the refused job out of its table (it was a "failed" run there) and names it below
    compare_runs(f"path={sweep_dir}", f"out={tmp_path / 'report'}")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"2 runs in {sweep_dir}, best val/acc_best first."
    assert out[-3:-1] == [
        "Left out: 1 run was refused before training (nothing ran):",
        f"  1 (data.val_fraction=1.5): {error}",
    ]
