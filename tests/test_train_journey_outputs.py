"""Where a run writes: an unwritable folder is refused before it starts, a write that fails mid-run (a full disk) is
one line, the last whole checkpoint stays whole, and the resume it names finishes the run."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import lightning as L
import torch

from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.training.run_summary import read_run_summary
from tests.conftest import train_script_error


class StopAfterFirstEpoch(L.Callback):
    """Ends fit after epoch 0, as a run killed after its first checkpoint would."""

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.should_stop = True


def test_an_unwritable_run_folder_or_export_path_is_one_line_before_training(tmp_path: Path, fer_dir: Path) -> None:
    """Was Hydra's NotADirectoryError traceback from its own mkdir; an unwritable export.path failed after training."""
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    error = train_script_error(blocker / "run", fer_dir, ["trainer.max_epochs=1"])
    assert error == f"error: hydra.run.dir={blocker / 'run'}: cannot write there ({blocker} is a file, not a folder)"
    run_dir = tmp_path / "run"
    error = train_script_error(run_dir, fer_dir, ["trainer.max_epochs=1", f"export.path={blocker}/model.pkl"])
    assert error == (
        f"error: export.path={blocker}/model.pkl: cannot write its folder {blocker} ({blocker} is a file, not a folder)"
    )


def _limit_file_size(size: int):
    """preexec_fn: no file of the child may grow past `size` bytes (a write past it fails: EFBIG), as a disk that
    fills up fails the file being written; Python ignores SIGXFSZ, so the write raises instead of killing it."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_checkpoint_write_that_fails_is_one_line_and_the_last_checkpoint_stays_whole(
    tmp_path: Path, fer_dir: Path
) -> None:
    cache = tmp_path / "cache"
    load_fer_csv(fer_dir / "train.csv", cache)  # parsed here: the child only reads the cache
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "scripts/train.py",
        f"paths.data_dir={fer_dir}",
        f"paths.cache_dir={cache}",
        f"hydra.run.dir={run_dir}",
        "model.net.widths=[8,16]",
        "data.batch_size=16",
        "trainer.max_epochs=2",
        "trainer.precision=32-true",
        "logger=csv",
        "callbacks.progress_bar=null",
        "test=false",
    ]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}
    stop = f"+callbacks.stop._target_={__name__}.StopAfterFirstEpoch"
    first = subprocess.run([*command, stop], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr[-3000:]
    last = run_dir / "checkpoints" / "last.ckpt"
    saved = last.read_bytes()
    assert len(saved) > 50_000  # the limit below cuts every checkpoint, and none of the run's other files

    resume = [*command, f"ckpt_path={last}"]
    full = subprocess.run(
        resume,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=_limit_file_size(50_000),
    )
    assert full.returncode == 1, full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    line = full.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: cannot write {run_dir}/checkpoints/epoch_001.ckpt: File too large; ") or (
        line.startswith(f"error: cannot write {last}: File too large; ")
    ), line
    assert line.endswith(f"then resume it: its command with ckpt_path={last.resolve()} hydra.run.dir={run_dir}")
    assert last.read_bytes() == saved, "the failed write touched the last whole checkpoint"
    assert sorted(p.name for p in last.parent.iterdir()) == ["epoch_000.ckpt", "last.ckpt"], "a cut-short file left"
    assert read_run_summary(run_dir)["status"] == "failed"

    finished = subprocess.run(resume, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert torch.load(last, weights_only=True)["epoch"] == 1
    assert (run_dir / "model" / "my_own_model.pkl").is_file()
