"""compare_runs.py on folders a sweep in progress leaves: runs that are starting, with half-written files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.tasks.compare_runs import run as run_compare_runs
from facial_emotion.training.run_summary import SUMMARY_FILE
from tests.conftest import CONFIG_DIR


def _compare(*overrides: str) -> None:
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        run_compare_runs(compose(config_name="compare_runs", overrides=list(overrides)))


@pytest.mark.parametrize(
    "starting_config",
    ["trainer:\n  max_epochs: [1,\n", "- not a mapping\n"],
    ids=["half-written", "not-a-mapping"],
)
def test_a_starting_runs_unreadable_config_is_skipped_for_the_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], starting_config: str
) -> None:
    """Run 0 is starting (its .hydra/config.yaml half-written): the metric is run 1's optimized_metric."""
    sweep = tmp_path / "sweep"
    for name, config in (("0", starting_config), ("1", "optimized_metric: val/acc\n")):
        (sweep / name / ".hydra").mkdir(parents=True)
        (sweep / name / ".hydra" / "overrides.yaml").write_text(f"- optimizer.lr=0.{name}5\n")
        (sweep / name / ".hydra" / "config.yaml").write_text(config)
    summary = {"status": "completed", "epochs_completed": 1, "metrics": {"val/acc": 0.4, "val/acc_best": 0.5}}
    (sweep / "1" / SUMMARY_FILE).write_text(json.dumps(summary))
    _compare(f"path={sweep}", f"out={tmp_path / 'out'}")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"2 runs in {sweep}, best val/acc first."
    rows = [line.split() for line in lines[1:] if line.strip()[:1].isdigit()]
    assert [row[:4] for row in rows] == [["1", "1", "40.00%", "50.00%"], ["2", "0", "unknown", "optimizer.lr=0.05"]]
