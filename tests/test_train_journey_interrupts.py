"""Ctrl-C outside Lightning's loops (while the model file is exported), and SIGTERM anywhere, are the same one resume
line as Ctrl-C in an epoch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.training.run_summary import read_run_summary
from tests.conftest import write_fer_csv


def test_ctrl_c_while_exporting_says_how_to_finish_and_the_resume_exports(tmp_path: Path) -> None:
    """The export fits temperatures on every validation face at 20 views: seconds on FER2013's 2871, minutes on a
    big network, and a Ctrl-C there was a KeyboardInterrupt traceback with run_summary.json left at 'running'."""
    data = tmp_path / "fer"
    data.mkdir()
    write_fer_csv(data / "train.csv", 2100, seed=1)  # 1050 validation faces: an export of a few seconds
    write_fer_csv(data / "test_with_emotions.csv.gz", 42, seed=2, gz=True)
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "scripts/train.py",
        f"paths.data_dir={data}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={run_dir}",
        "model.net.widths=[8,16]",
        "data.val_fraction=0.5",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.precision=32-true",
        "callbacks.progress_bar=null",
        "test=false",
    ]
    temp = tmp_path / "tmp"  # the export fits on a side copy of the model file in a temporary folder
    temp.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(temp)}
    child = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(temp.glob("fer-export-*/.cache/*.onnx")):  # the export's first step: the graph it fits on
        assert child.poll() is None and time.monotonic() < deadline, "the run ended before its export"
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    last = (run_dir / "checkpoints" / "last.ckpt").resolve()
    assert child.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"training was interrupted while exporting the model file; resume it: its command with ckpt_path={last} "
        f"hydra.run.dir={run_dir.resolve()}"
    )
    assert read_run_summary(run_dir)["status"] == "interrupted"
    assert not (run_dir / "model" / "my_own_model.pkl").exists()
    assert not list(temp.glob("fer-export-*")), "the interrupted export left its side copy"

    resumed = subprocess.run(
        [*command, f"ckpt_path={last}"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (run_dir / "model" / "my_own_model.pkl").is_file()
    summary = read_run_summary(run_dir)
    assert summary["status"] == "completed" and summary["epochs_completed"] == 1, "the resume trained again"


class SigtermInSecondEpoch(L.Callback):
    """A real SIGTERM to this process in epoch 1, as `kill`, `docker stop` or a cluster's preemption sends."""

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.current_epoch == 1 and args[-1] == 1:  # batch_idx
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_is_the_resume_line_and_exit_143_not_a_silent_success(tmp_path: Path, fer_dir: Path) -> None:
    """Lightning stops after the batch with its SIGTERMException, a SystemExit without a code: the run ended with
    exit status 0 and no word, its summary 'failed'. A job chain (or Slurm) took the killed run for a finished one."""
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "scripts/train.py",
        f"paths.data_dir={fer_dir}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={run_dir}",
        "model.net.widths=[8,16]",
        "data.batch_size=16",
        "trainer.max_epochs=3",
        "trainer.precision=32-true",
        "callbacks.progress_bar=null",
        "test=false",
        f"+callbacks.term._target_={__name__}.SigtermInSecondEpoch",
    ]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)
    last = (run_dir / "checkpoints" / "last.ckpt").resolve()
    assert result.returncode == 143, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"training was stopped by SIGTERM; resume it: its command with ckpt_path={last} hydra.run.dir={run_dir}"
    )
    assert read_run_summary(run_dir)["status"] == "interrupted"
    assert not (run_dir / "model" / "my_own_model.pkl").exists()
