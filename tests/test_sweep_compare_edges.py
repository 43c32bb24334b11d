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


def _run_folder(folder: Path, override: str, summary: dict) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(f"- {override}\n")
    (folder / SUMMARY_FILE).write_text(json.dumps(summary))


def test_runs_refused_before_training_are_left_out_of_the_table_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run train.py refused (`error: ...`, exit 2) trained nothing; its summary said "failed", so compare_runs listed
    it as a failed run. A summary written before "refused" existed is known by its error and its 0 epochs."""
    sweep = tmp_path / "sweep"
    refusal = "OptionError: data.val_fraction must be a number between 0 and 1 (both excluded), got 1.5"
    old_refusal = "ResumeRefusedError: ckpt_path=x.ckpt is a checkpoint of the run in y: resume it there"
    failure = "ValueError: Invalid learning rate: -1.0"
    _run_folder(sweep / "0", "optimizer.lr=0.1", {"status": "completed", "epochs_completed": 1, "metrics": {}})
    _run_folder(sweep / "1", "data.val_fraction=1.5", {"status": "refused", "epochs_completed": 0, "error": refusal})
    old = {"status": "failed", "epochs_completed": 0, "metrics": {}, "error": old_refusal, "traceback": "..."}
    _run_folder(sweep / "2", "ckpt_path=x.ckpt", old)
    _run_folder(sweep / "3", "optimizer.lr=-1", {"status": "failed", "epochs_completed": 0, "error": failure})
    _compare(f"path={sweep}", f"out={tmp_path / 'out'}")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"2 runs in {sweep}, best val/acc_best first."
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    assert [line.split()[:2] for line in lines[header + 1 : header + 3]] == [["1", "0"], ["2", "3"]]
    assert "failed" in lines[header + 2].split() and failure in lines[header + 2]  # a run that failed stays
    left_out = [
        "Left out: 2 runs were refused before training (nothing ran):",
        f"  1 (data.val_fraction=1.5): {refusal}",
        f"  2 (ckpt_path=x.ckpt): {old_refusal}",
    ]
    start = lines.index(left_out[0])
    assert lines[start : start + 3] == left_out
    assert "\\\n".join(line.strip() for line in left_out) in (tmp_path / "out" / "sweep_runs.md").read_text()

    with pytest.raises(SystemExit) as stop:
        _compare(f"path={sweep / '1'}", f"out={tmp_path / 'out1'}")
    err = capsys.readouterr().err.rstrip().splitlines()
    assert stop.value.code == 2 and not (tmp_path / "out1").exists()
    assert err == [
        f"  1 (data.val_fraction=1.5): {refusal}",
        f"error: no run under {sweep / '1'} trained: its one run was refused before training (listed above)",
    ]
