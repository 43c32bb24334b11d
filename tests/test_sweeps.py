"""Optuna sweeps, run comparison, TensorBoard HPARAMS and the Slurm/local launchers, on tiny synthetic data."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.sweeps.optuna_sweeper import INTERRUPTED_REASON, _RecordingLauncher, failure_reason
from facial_emotion.tasks.compare_runs import run as run_compare_runs
from facial_emotion.training.run_summary import SUMMARY_FILE
from tests.conftest import CONFIG_DIR, write_fer_csv

SEARCH = "fer_vgg_small_optuna"
STUDY = "fer_vgg_small_optuna"


def compare_runs(*overrides: str) -> None:
    """scripts/compare_runs.py in-process, on its real config."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        run_compare_runs(compose(config_name="compare_runs", overrides=list(overrides)))


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def tiny_overrides(data: Path) -> list[str]:
    """The real experiment, shrunk to seconds per run on the synthetic data."""
    return [
        "experiment=fer_vgg_small",
        "model.net.widths=[8,16]",
        f"paths.data_dir={data / 'fer'}",
        f"paths.cache_dir={data / 'cache'}",
        "trainer.precision=32-true",
        "data.batch_size=16",
        "data.eval_batch_size=32",
        "callbacks.progress_bar=null",
        "++trainer.enable_progress_bar=false",
        "export.path=null",
    ]


def run_sweep(sweep_dir: Path, data: Path, *overrides: str, timeout: int = 240) -> subprocess.CompletedProcess:
    """`python scripts/train.py -m ...` into `sweep_dir`; fails the test with the log tail when it fails."""
    command = [sys.executable, "scripts/train.py", "-m", f"hydra.sweep.dir={sweep_dir}", *tiny_overrides(data)]
    result = subprocess.run(
        [*command, *overrides], cwd=PROJECT_ROOT, env=ENV, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result


def load_study(sweep_dir: Path, name: str = STUDY) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{sweep_dir / 'optuna.db'}")


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / SUMMARY_FILE).read_text())


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tmp/fer with a 140-row train.csv and a 42-row test set; tmp/cache for the tensor cache."""
    root = tmp_path_factory.mktemp("sweep_data")
    (root / "fer").mkdir()
    write_fer_csv(root / "fer" / "train.csv", 140, seed=1)
    write_fer_csv(root / "fer" / "test_with_emotions.csv.gz", 42, seed=2, gz=True)
    return root


@pytest.fixture(scope="module")
def fast_sweep(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two trials of the real search config with fast_dev_run (one batch per stage)."""
    sweep_dir = tmp_path_factory.mktemp("fast") / "sweep"
    run_sweep(sweep_dir, data, f"hparams_search={SEARCH}", "hydra.sweeper.n_trials=2", "trainer.fast_dev_run=true")
    return sweep_dir


def test_search_config_targets_real_config_keys() -> None:
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(
            config_name="train",
            overrides=[f"hparams_search={SEARCH}", "experiment=fer_vgg_small"],
            return_hydra_config=True,
        )
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.facial_emotion_sweeper.ResumableOptunaSweeper"
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler" and sweeper.direction == "maximize"
    assert cfg.optimized_metric == "val/acc_best" and sweeper.n_trials > 2 and sweeper.max_failure_rate == 1.0
    assert sweeper.storage.endswith(f"/multiruns/{sweeper.study_name}/optuna.db")  # stable folder: rerun continues
    wanted = {"lr", "weight_decay", "widths", "dropout", "label_smoothing", "mixup_alpha", "crop_size"}
    assert {key.rsplit(".", 1)[-1] for key in sweeper.params} == wanted
    for key in sweeper.params:  # every searched key exists in the composed config (a typo would add nothing)
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key


def test_sweep_writes_study_and_optimization_results(fast_sweep: Path) -> None:
    trials = load_study(fast_sweep).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert [t.user_attrs["run_dir"] for t in trials] == [str(fast_sweep / "0"), str(fast_sweep / "1")]
    results = OmegaConf.load(fast_sweep / "optimization_results.yaml")
    assert results.best_value == max(t.value for t in trials)
    assert set(results.best_params) == set(trials[0].params) and "optimizer.lr" in results.best_params
    for trial in trials:
        run = summary(fast_sweep / str(trial.number))
        assert run["status"] == "completed" and run["metrics"]["val/acc_best"] == pytest.approx(trial.value)
        assert run["precision"] == "32-true" and run["device"].startswith(("CPU", "GPU"))


def test_rerun_continues_the_study(fast_sweep: Path, data: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    shutil.copytree(fast_sweep, sweep_dir)
    load_study(sweep_dir).ask()  # trial 2: left RUNNING, as by a sweep killed mid-trial
    first_run = (sweep_dir / "0" / SUMMARY_FILE).read_text()
    result = run_sweep(
        sweep_dir, data, f"hparams_search={SEARCH}", "hydra.sweeper.n_trials=3", "trainer.fast_dev_run=true"
    )
    assert "2 of 3 trials finished, 1 to run" in result.stdout + result.stderr
    trials = load_study(sweep_dir).get_trials()
    states = [t.state.name for t in trials]
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    assert trials[2].system_attrs["fail_reason"] == INTERRUPTED_REASON
    assert trials[3].user_attrs["run_dir"] == str(sweep_dir / "3")  # numbered by trial: nothing overwritten
    assert (sweep_dir / "0" / SUMMARY_FILE).read_text() == first_run
    assert summary(sweep_dir / "3")["status"] == "completed"


def test_compare_runs_prints_both_runs_best_first(fast_sweep: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/compare_runs.py", f"path={fast_sweep}", f"out={tmp_path / 'report'}"],
        cwd=PROJECT_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    trials = load_study(fast_sweep).get_trials()
    expected = [str(t.number) for t in sorted(trials, key=lambda t: (-t.value, t.number))]
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    rows = [line.split() for line in lines[header + 1 : header + 3]]
    assert [row[1] for row in rows] == expected and [row[0] for row in rows] == ["1", "2"]
    assert rows[0][2] == f"{100 * max(t.value for t in trials):.2f}%"
    assert "optimizer.lr=" in lines[header + 1] and "completed" in lines[header + 1]
    assert "Overrides shared by every run:" in result.stdout and "experiment=fer_vgg_small" in result.stdout
    csv_lines = (tmp_path / "report" / "sweep_runs.csv").read_text().splitlines()
    assert csv_lines[0].startswith("rank,run,val/acc_best,test/acc,epochs,wall_time_s,hardware,precision,status")
    assert [line.split(",")[1] for line in csv_lines[1:]] == expected
    assert (tmp_path / "report" / "sweep_runs.md").read_text().count("\n| ") == 3  # header + two runs
    assert (tmp_path / "report" / "sweep_curves.png").stat().st_size > 0


FAILING_SEARCH = """\
# @package _global_
defaults:
  - override /hydra/sweeper: optuna
  - override /hydra/sweeper/sampler: random
hydra:
  sweeper:
    sampler:
      seed: 0  # draws -1.0 then 0.05 (GridSampler would be the obvious choice, but in hydra-optuna-sweeper 1.3
               # a failure on the last grid point crashes the sweep: GridSampler calls Study.stop outside optimize)
    _target_: hydra_plugins.facial_emotion_sweeper.ResumableOptunaSweeper
    storage: sqlite:///${hydra.sweep.dir}/optuna.db
    study_name: failing
    direction: maximize
    n_trials: 2
    n_jobs: 1
    max_failure_rate: 1.0
    params:
      optimizer.lr: choice(0.05, -1.0)
"""


def test_failed_trial_is_recorded_and_the_sweep_goes_on(data: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "configs" / "hparams_search").mkdir(parents=True)
    (tmp_path / "configs" / "hparams_search" / "failing.yaml").write_text(FAILING_SEARCH)
    sweep_dir = tmp_path / "sweep"
    run_sweep(
        sweep_dir,
        data,
        f"hydra.searchpath=[file://{tmp_path / 'configs'}]",
        "hparams_search=failing",
        "trainer.max_epochs=2",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
    )
    trials = {t.params["optimizer.lr"]: t for t in load_study(sweep_dir, "failing").get_trials()}
    assert list(trials) == [-1.0, 0.05]  # the failing trial first: the sweep went on after it
    failed, completed = trials[-1.0], trials[0.05]
    assert failed.state.name == "FAIL" and completed.state.name == "COMPLETE"
    assert failed.system_attrs["fail_reason"] == "ValueError: Invalid learning rate: -1.0"
    assert OmegaConf.load(sweep_dir / "optimization_results.yaml").best_params == {"optimizer.lr": 0.05}
    failed_run, completed_run = Path(failed.user_attrs["run_dir"]), Path(completed.user_attrs["run_dir"])
    assert summary(failed_run)["status"] == "failed" and "Invalid learning rate" in summary(failed_run)["error"]
    assert summary(completed_run)["epochs_completed"] == 2 and summary(completed_run)["resumes"] == 0
    assert summary(completed_run)["partial_test"] is True  # limit_test_batches=1

    compare_runs(f"path={sweep_dir}")
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    assert lines[header + 1].split()[1] == completed_run.name and "completed" in lines[header + 1]
    assert lines[header + 2].split()[1] == failed_run.name
    assert " ".join(lines[header + 2].split()[2:]) == "failed optimizer.lr=-1.0 ValueError: Invalid learning rate: -1.0"
    assert "(1 runs with val/acc)" in lines[-1]
    # limit_test_batches=1: the test figure of one batch is its own HPARAMS column, not test/acc
    assert_hparams_tab(completed_run / "tensorboard", {"optimizer/lr": 0.05}, test_metric="test/acc_partial")


def assert_hparams_tab(log_dir: Path, expected: dict[str, float], test_metric: str = "test/acc") -> None:
    """TensorBoard's HPARAMS plugin data: the run's hyperparameters with val/acc_best and `test_metric` as metrics."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    content = accumulator.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["val/acc_best", test_metric]
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    for key, value in expected.items():
        assert hparams[key].number_value == pytest.approx(value)
    assert "model/net/widths" in hparams and not any(key.startswith("paths/") for key in hparams)
    for tag in ("val/acc_best", test_metric):  # final values at the last step, not back at step 0
        steps = [event.step for event in accumulator.Scalars(tag)]
        assert steps == sorted(steps) and steps[-1] > 0


def test_submitit_local_launcher_runs_trials_as_processes(data: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    run_sweep(
        sweep_dir,
        data,
        f"hparams_search={SEARCH}",
        "hydra/launcher=submitit_local",
        "hydra.sweeper.n_trials=2",
        "trainer.fast_dev_run=true",
    )
    trials = load_study(sweep_dir).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert all(summary(sweep_dir / str(t.number))["status"] == "completed" for t in trials)
    assert len(list((sweep_dir / ".submitit").glob("*/*_result.pkl"))) == 2  # each trial ran as its own job


def test_slurm_launcher_config_gives_the_sbatch_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(
            config_name="train",
            overrides=[
                f"hparams_search={SEARCH}",
                "hydra/launcher=slurm",
                "hydra.launcher.partition=gpu-long",
                "hydra.launcher.gpus_per_node=2",
                "hydra.launcher.tasks_per_node=2",
                f"hydra.sweep.dir={tmp_path}",
                "trainer=ddp",
            ],
            return_hydra_config=True,
        )
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert launcher.pop("_target_") == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert cfg.trainer.devices == launcher["gpus_per_node"] == launcher["tasks_per_node"] == 2
    # What SlurmLauncher.launch does with these keys, with a stand-in `srun` (no cluster here).
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "srun").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    executor = submitit.AutoExecutor(folder=tmp_path / "submitit", cluster="slurm")
    base_keys = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(
        **{
            key if key in base_keys else f"slurm_{key}": value
            for key, value in launcher.items()
            if key not in ("submitit_folder", "max_num_timeout", "name")
        }
    )
    sbatch = executor._executor._make_submission_file_text("python scripts/train.py", "uid")
    for line in ("--partition=gpu-long", "--gpus-per-node=2", "--ntasks-per-node=2", "--cpus-per-task=8"):
        assert f"#SBATCH {line}" in sbatch
    assert "#SBATCH --mem=32GB" in sbatch and "#SBATCH --time=720" in sbatch


class _FakeLauncher:
    def __init__(self, returns: list[JobReturn]) -> None:
        self.returns = returns

    def launch(self, job_overrides: list[list[str]], initial_job_idx: int) -> list[JobReturn]:
        return self.returns


def _job(status: JobStatus, value: object) -> JobReturn:
    job = JobReturn(status=status)
    job._return_value = value
    return job


def test_unusable_objectives_fail_the_trial_with_a_reason() -> None:
    assert failure_reason(_job(JobStatus.COMPLETED, 0.5)) is None
    assert failure_reason(_job(JobStatus.FAILED, FloatingPointError("training loss is nan"))) == (
        "FloatingPointError: training loss is nan"
    )
    assert "None, not a number" in failure_reason(_job(JobStatus.COMPLETED, None))
    study = optuna.create_study(direction="maximize")
    sweeper = SimpleNamespace(pending_trials=[study.ask(), study.ask()])
    nan_job, good_job = _job(JobStatus.COMPLETED, math.nan), _job(JobStatus.COMPLETED, 0.25)
    _RecordingLauncher(_FakeLauncher([nan_job, good_job]), sweeper).launch([["a=1"], ["a=2"]], initial_job_idx=0)
    assert nan_job.status == JobStatus.FAILED  # the plugin now tells FAIL instead of crashing on NaN
    with pytest.raises(ValueError, match="NaN"):
        _ = nan_job.return_value
    assert study.trials[0].system_attrs["fail_reason"] == "the objective (optimized_metric) is NaN"
    assert "fail_reason" not in study.trials[1].system_attrs and good_job.return_value == 0.25


def test_compare_runs_reads_runs_in_progress(tmp_path: Path, capsys) -> None:
    from torch.utils.tensorboard import SummaryWriter

    for name, accuracies in {"0": [0.3, 0.5, 0.4], "1": [0.6]}.items():
        run = tmp_path / "multirun" / name
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text(f"- optimizer.lr={name}.1\n- experiment=fer_vgg_small\n")
        with SummaryWriter(str(run / "tensorboard")) as writer:
            for step, accuracy in enumerate(accuracies):
                writer.add_scalar("val/acc", accuracy, step)
    (tmp_path / "multirun" / "1" / SUMMARY_FILE).write_text(
        json.dumps({"status": "running", "epochs_completed": 1, "metrics": {"val/acc_best": 0.6}})
    )
    compare_runs(f"path={tmp_path / 'multirun'}", f"out={tmp_path / 'out'}")
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("rank"))
    assert out[header + 1].split()[:5] == ["1", "1", "60.00%", "1", "running"]
    assert out[header + 2].split()[:4] == ["2", "0", "50.00%", "3"]  # no summary: max val/acc and epochs from events
    assert "optimizer.lr=0.1" in out[header + 2] and "(2 runs with val/acc)" in out[-1]
    with pytest.raises(SystemExit) as stopped:
        compare_runs(f"path={tmp_path / 'multirun'}", "metric=val/acc_bset")
    error = capsys.readouterr().err
    assert stopped.value.code == 2 and re.search(
        "no run recorded metric=val/acc_bset; they recorded .*val/acc_best", error
    )


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_compare_runs_bad_folder_is_a_one_line_error(
    tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "sweep"
    if make == "empty":
        (folder / "not_a_run").mkdir(parents=True)
    with pytest.raises(SystemExit) as exit_info:
        compare_runs(f"path={folder}")
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: ") and "\n" not in message and str(folder) in message
    assert ("no such folder" if make == "missing" else "no runs under") in message


def _summarised_run(folder: Path, overrides: list[str], summary: dict, trainer: dict | None = None) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if trainer is not None:
        (folder / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml({"trainer": trainer}))
    (folder / SUMMARY_FILE).write_text(json.dumps({"status": "completed", "epochs_completed": 2, **summary}))


def test_compare_runs_marks_test_figures_of_a_partial_test(tmp_path: Path, capsys) -> None:
    sweep = tmp_path / "sweep"
    metrics = {"val/acc_best": 0.5, "test/acc": 0.1367}
    _summarised_run(sweep / "0", ["optimizer.lr=0.1"], {"metrics": metrics, "partial_test": True})
    _summarised_run(sweep / "1", ["optimizer.lr=0.2"], {"metrics": {**metrics, "val/acc_best": 0.4}})
    # a summary written before partial_test was recorded: the run's config tells
    _summarised_run(
        sweep / "2", ["optimizer.lr=0.3"], {"metrics": {**metrics, "val/acc_best": 0.3}}, {"limit_test_batches": 2}
    )
    _summarised_run(
        sweep / "3", ["optimizer.lr=0.4"], {"metrics": {"val/acc_best": 0.2, "test/acc": 0.6}, "partial_test": False}
    )
    compare_runs(f"path={sweep}", f"out={tmp_path / 'out'}")
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("rank"))
    assert [line.split()[:4] for line in out[header + 1 : header + 5]] == [
        ["1", "0", "50.00%", "13.67%*"],
        ["2", "1", "40.00%", "13.67%"],
        ["3", "2", "30.00%", "13.67%*"],
        ["4", "3", "20.00%", "60.00%"],
    ]
    assert out[header + 5].startswith("* tested on a few batches only") and "not the test set's" in out[header + 5]
    csv_lines = (tmp_path / "out" / "sweep_runs.csv").read_text().splitlines()
    assert csv_lines[0].startswith("rank,run,val/acc_best,test/acc,epochs,wall_time_s,hardware,precision,status,")
    column = csv_lines[0].split(",").index("test_partial")
    assert [line.split(",")[column] for line in csv_lines[1:]] == ["True", "False", "True", "False"]
    assert "\\* tested on a few batches only" in (tmp_path / "out" / "sweep_runs.md").read_text()


def test_compare_runs_sorted_by_another_metric_still_shows_val_acc_best(tmp_path: Path, capsys) -> None:
    for name, loss in {"0": 1.5, "1": 0.9}.items():
        metrics = {"val/acc_best": 0.5, "val/loss": loss}
        _summarised_run(tmp_path / "sweep" / name, [f"optimizer.lr={name}.1"], {"metrics": metrics})
    compare_runs(f"path={tmp_path / 'sweep'}", "metric=val/loss", "minimize=true")
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("rank"))
    assert out[header].split()[:4] == ["rank", "run", "val/loss", "val/acc_best"]
    assert [line.split()[:4] for line in out[header + 1 : header + 3]] == [
        ["1", "1", "0.9", "50.00%"],
        ["2", "0", "1.5", "50.00%"],
    ]


@pytest.mark.parametrize(
    "content", ["[1, 2]", '{"metrics": [1]}', '{"metrics": {"val/acc_best": "n/a"}, "wall_time_s": "soon"}']
)
def test_compare_runs_reads_past_a_foreign_run_summary(tmp_path: Path, content: str, capsys) -> None:
    _summarised_run(tmp_path / "sweep" / "0", ["optimizer.lr=0.1"], {"metrics": {"val/acc_best": 0.5}})
    _summarised_run(tmp_path / "sweep" / "1", ["optimizer.lr=0.2"], {})
    (tmp_path / "sweep" / "1" / SUMMARY_FILE).write_text(content)
    compare_runs(f"path={tmp_path / 'sweep'}")
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("rank"))
    assert out[header + 1].split()[:3] == ["1", "0", "50.00%"] and out[header + 2].split()[:2] == ["2", "1"]


def test_compare_runs_without_path_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        compare_runs()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: give path=<a sweep folder, a folder of runs or one run folder>"


@pytest.mark.parametrize(("partial", "test_metric"), [(False, "test/acc"), (True, "test/acc_partial")])
def test_hparams_tab_names_a_partial_test_apart(tmp_path: Path, partial: bool, test_metric: str) -> None:
    from lightning.pytorch.loggers import TensorBoardLogger

    from facial_emotion.sweeps.tensorboard_hparams import log_final_hparams

    logger = TensorBoardLogger(str(tmp_path), name="", version="")
    config = {"optimizer": {"lr": 0.05}, "model": {"net": {"widths": [8, 16]}}, "paths": {"data_dir": "x"}}
    log_final_hparams([logger], config, {"val/acc_best": 0.5, "test/acc": 0.25}, step=7, partial_test=partial)
    assert_hparams_tab(tmp_path, {"optimizer/lr": 0.05}, test_metric=test_metric)
