"""Optuna searches at their edges, on tiny synthetic data: a search in which every trial fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
from omegaconf import OmegaConf

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.training.run_summary import SUMMARY_FILE
from tests.conftest import write_fer_csv
from tests.test_sweeps import ENV, tiny_overrides

ALL_FAIL_SEARCH = """\
# @package _global_
defaults:
  - override /hydra/sweeper: optuna
  - override /hydra/sweeper/sampler: random
hydra:
  sweeper:
    _target_: hydra_plugins.facial_emotion_sweeper.ResumableOptunaSweeper
    storage: sqlite:///${hydra.sweep.dir}/optuna.db
    study_name: all_fail
    direction: maximize
    n_trials: 2
    n_jobs: 1
    max_failure_rate: 1.0
    params:
      optimizer.lr: choice(-1.0, -2.0)
"""


def test_a_search_where_every_trial_fails_ends_in_one_line(tmp_path: Path) -> None:
    """Both trials fail (negative lr): exit 2 with the last reason, not Optuna's "Record does not exist" traceback."""
    (tmp_path / "fer").mkdir()
    write_fer_csv(tmp_path / "fer" / "train.csv", 140, seed=1)
    write_fer_csv(tmp_path / "fer" / "test_with_emotions.csv.gz", 42, seed=2, gz=True)
    (tmp_path / "configs" / "hparams_search").mkdir(parents=True)
    (tmp_path / "configs" / "hparams_search" / "all_fail.yaml").write_text(ALL_FAIL_SEARCH)
    sweep_dir = tmp_path / "sweep"
    result = subprocess.run(
        [
            sys.executable,
            "scripts/train.py",
            "-m",
            f"hydra.sweep.dir={sweep_dir}",
            *tiny_overrides(tmp_path),
            f"hydra.searchpath=[file://{tmp_path / 'configs'}]",
            "hparams_search=all_fail",
            "trainer.fast_dev_run=true",
        ],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 2, (result.stdout + result.stderr)[-3000:]
    assert "Traceback" not in result.stderr
    trials = optuna.load_study(study_name="all_fail", storage=f"sqlite:///{sweep_dir / 'optuna.db'}").get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    last = trials[-1]
    assert result.stderr.splitlines()[-1] == (
        "error: no trial of study 'all_fail' completed, so it has no best parameters and no "
        f"optimization_results.yaml: 2 failed, the last (trial 1) with {last.system_attrs['fail_reason']}"
    )
    assert last.system_attrs["fail_reason"].startswith("ValueError: Invalid learning rate: -")
    assert not (sweep_dir / "optimization_results.yaml").exists()


def _search(study: str, params: str) -> str:
    """A one-trial random search named `study` over `params` (YAML lines under hydra.sweeper.params)."""
    head = ALL_FAIL_SEARCH.split("    params:\n")[0].replace("study_name: all_fail", f"study_name: {study}")
    return head.replace("n_trials: 2", "n_trials: 1") + "    params:\n" + params


def _sweep(tmp_path: Path, search: str, *overrides: str, experiment: str = "") -> subprocess.CompletedProcess:
    """`train.py -m hparams_search=<search>` (written to tmp/configs) on tiny synthetic data, into tmp/sweep (with
    `experiment` instead of fer_vgg_small when given)."""
    if not (tmp_path / "fer").is_dir():
        (tmp_path / "fer").mkdir()
        write_fer_csv(tmp_path / "fer" / "train.csv", 140, seed=1)
        write_fer_csv(tmp_path / "fer" / "test_with_emotions.csv.gz", 42, seed=2, gz=True)
    (tmp_path / "configs" / "hparams_search").mkdir(parents=True, exist_ok=True)
    (tmp_path / "configs" / "hparams_search" / "search.yaml").write_text(search)
    command = [
        sys.executable,
        "scripts/train.py",
        "-m",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        *(o for o in tiny_overrides(tmp_path) if not (experiment and o.startswith("experiment="))),
        *([f"experiment={experiment}"] if experiment else []),
        f"hydra.searchpath=[file://{tmp_path / 'configs'}]",
        "hparams_search=search",
        "trainer.fast_dev_run=true",
        *overrides,
    ]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=240)


def test_a_misspelt_search_space_key_is_one_line_before_any_trial(tmp_path: Path) -> None:
    result = _sweep(tmp_path, _search("typo", "      optimizer.lrr: interval(0.01, 0.1)\n"))
    assert result.returncode == 2, (result.stdout + result.stderr)[-3000:]
    assert result.stderr.splitlines()[-1] == (
        "error: hydra.sweeper.params: optimizer.lrr is not a key of the config nor a config group (misspelt? "
        "a new key is +optimizer.lrr)"
    )
    assert not list((tmp_path / "sweep").glob("*/.hydra"))  # no trial started (none left RUNNING in the study)


def test_a_config_group_in_the_search_space_is_searched(tmp_path: Path) -> None:
    """`optimizer.lr` is in the config, `debug` only a group (its package is _global_): both are valid keys."""
    params = "      debug: choice(limit)\n      optimizer.lr: choice(0.05)\n"
    result = _sweep(tmp_path, _search("groups", params))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    trials = optuna.load_study(
        study_name="groups", storage=f"sqlite:///{tmp_path / 'sweep' / 'optuna.db'}"
    ).get_trials()
    assert [(t.state.name, t.params) for t in trials] == [("COMPLETE", {"debug": "limit", "optimizer.lr": 0.05})]


def test_resuming_a_study_with_the_other_direction_is_one_line(tmp_path: Path) -> None:
    """A second search into a stored maximizing study with direction=minimize: one line, the study untouched."""
    storage = f"sqlite:///{tmp_path / 'sweep' / 'optuna.db'}"
    (tmp_path / "sweep").mkdir()
    study = optuna.create_study(study_name="stored", storage=storage, direction="maximize")
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5))
    result = _sweep(
        tmp_path, _search("stored", "      optimizer.lr: choice(0.05)\n"), "hydra.sweeper.direction=minimize"
    )
    assert result.returncode == 2, (result.stdout + result.stderr)[-3000:]
    assert result.stderr.splitlines()[-1] == (
        f"error: hydra.sweeper.direction=minimize, but study 'stored' in {storage} has direction=maximize: "
        "set hydra.sweeper.study_name to start a new study"
    )
    assert [t.value for t in optuna.load_study(study_name="stored", storage=storage).get_trials()] == [0.5]


def test_a_trial_with_a_bad_option_fails_and_the_search_goes_on(tmp_path: Path) -> None:
    """train.py ends a run with a bad option (data.val_fraction=1.5) by `error: ...`, exit 2: that trial is FAIL with
    the error as its reason and the next trial runs (the exit used to end the search, the trial left RUNNING)."""
    search = _search("bad_option", "      data.val_fraction: choice(0.2, 1.5)\n")
    result = _sweep(tmp_path, search, "hydra.sweeper.sampler.seed=0", "hydra.sweeper.n_trials=2")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    storage = f"sqlite:///{tmp_path / 'sweep' / 'optuna.db'}"
    trials = optuna.load_study(study_name="bad_option", storage=storage).get_trials()
    assert [(t.state.name, t.params["data.val_fraction"]) for t in trials] == [("FAIL", 1.5), ("COMPLETE", 0.2)]
    reason = "OptionError: data.val_fraction must be a number between 0 and 1 (both excluded), got 1.5"
    assert trials[0].system_attrs["fail_reason"] == reason
    assert trials[0].user_attrs["run_dir"] == str(tmp_path / "sweep" / "0")
    assert json.loads((tmp_path / "sweep" / "0" / SUMMARY_FILE).read_text())["error"] == reason
    assert OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml").best_params == {"data.val_fraction": 0.2}


def test_n_trials_0_is_one_line(tmp_path: Path) -> None:
    result = _sweep(tmp_path, _search("none", "      optimizer.lr: choice(0.05)\n"), "hydra.sweeper.n_trials=0")
    assert result.returncode == 2, (result.stdout + result.stderr)[-3000:]
    assert result.stderr.splitlines()[-1] == (
        "error: hydra.sweeper.n_trials must be at least 1 (the study's total), got 0"
    )
    assert not (tmp_path / "sweep" / "optuna.db").exists()


def test_a_storage_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "optuna.db").write_text("not a database\n")
    result = _sweep(tmp_path, _search("damaged", "      optimizer.lr: choice(0.05)\n"))
    assert result.returncode == 2, (result.stdout + result.stderr)[-3000:]
    assert result.stderr.splitlines()[-1] == (
        f"error: hydra.sweeper.storage=sqlite:///{tmp_path / 'sweep' / 'optuna.db'}: cannot open it as an Optuna "
        "study: file is not a database"
    )
    assert (tmp_path / "sweep" / "optuna.db").read_text() == "not a database\n"


def test_a_required_key_of_the_experiment_can_be_searched(tmp_path: Path) -> None:
    """init_from is `???` in fer_vgg_large_finetune: a key of the config, searched over (here a missing file, so the
    trial fails as bad input and the search ends naming it), not refused as misspelt."""
    missing = tmp_path / "missing.pkl"
    search = _search("finetune", f"      init_from: choice({missing})\n")
    result = _sweep(tmp_path, search, experiment="fer_vgg_large_finetune")
    assert result.returncode == 2, (result.stdout + result.stderr)[-3000:]
    assert "is not a key of the config" not in result.stderr
    storage = f"sqlite:///{tmp_path / 'sweep' / 'optuna.db'}"
    trials = optuna.load_study(study_name="finetune", storage=storage).get_trials()
    assert [(t.state.name, t.params) for t in trials] == [("FAIL", {"init_from": str(missing)})]
    assert str(missing) in trials[0].system_attrs["fail_reason"]
    assert result.stderr.splitlines()[-1].startswith("error: no trial of study 'finetune' completed")
