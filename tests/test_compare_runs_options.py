"""compare_runs.py reads its options as meant: `minimize=no` is text, which as a truth value sorted worst first;
a misspelt `curve=` drew an empty figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.tasks.compare_runs import run as run_compare_runs
from facial_emotion.training.run_summary import SUMMARY_FILE
from tests.conftest import CONFIG_DIR


def _runs(root: Path) -> Path:
    """Two finished runs as train.py leaves them: their summaries (val/acc_best 0.3 and 0.6) and overrides."""
    for name, accuracy in (("low", 0.3), ("high", 0.6)):
        run = root / name
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(f"- optimizer.lr={accuracy}\n")
        summary = {
            "status": "completed",
            "epochs_completed": 1,
            "metrics": {"val/acc": accuracy, "val/acc_best": accuracy},
        }
        (run / SUMMARY_FILE).write_text(json.dumps(summary))
    return root


def _compare(*overrides: str) -> None:
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        run_compare_runs(compose(config_name="compare_runs", overrides=list(overrides)))


def test_minimize_no_keeps_the_best_run_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs(tmp_path / "sweep")
    _compare(f"path={runs}", "minimize=no", f"out={tmp_path / 'out'}")
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[1] for row in rows if row[1] != "runs"] == ["high", "low"]
    _compare(f"path={runs}", "minimize=yes", f"out={tmp_path / 'out'}")
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[1] for row in rows if row[1] != "runs"] == ["low", "high"]


def test_minimize_that_is_not_a_yes_or_no_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        _compare(f"path={_runs(tmp_path / 'sweep')}", "minimize=maybe", f"out={tmp_path / 'out'}")
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == "error: minimize must be true or false, got 'maybe'"
    assert not (tmp_path / "out").exists()


def test_a_curve_no_run_logged_is_one_line_naming_those_they_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        _compare(f"path={_runs(tmp_path / 'sweep')}", "curve=val/accc", f"out={tmp_path / 'out'}")
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == "error: no run logged curve=val/accc; they logged val/acc, val/acc_best"
    assert not (tmp_path / "out").exists()
