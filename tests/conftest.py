"""Shared fixtures: tiny synthetic FER CSVs and Hydra config composition."""

from __future__ import annotations

import gzip
import itertools
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from facial_emotion.core.labels import EMOTIONS
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT, SHARED_DATA_DIR
from facial_emotion.export.exporter import export_model
from facial_emotion.models.vgg import VGGNet
from facial_emotion.training.resolvers import register_resolvers

CONFIG_DIR = str(PROJECT_ROOT / "configs")
register_resolvers()


# A shell starts a background job (`bash .ci/run &`) with Ctrl-C ignored, and the processes it starts inherit that:
# Python then never raises KeyboardInterrupt. The tests that press Ctrl-C (in this process or a script's) stand for a
# user at a terminal, where it is heard; with a handler here, the scripts started from here get the default too.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def write_fer_csv(path: Path, n_rows: int, seed: int = 0, gz: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Write a synthetic `emotion,pixels` CSV whose classes differ by brightness (learnable)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n_rows) % 7
    images = np.clip(rng.normal(30 + labels[:, None, None] * 30, 20, (n_rows, 48, 48)), 0, 255).astype(np.uint8)
    text = "emotion,pixels\n" + "".join(
        f"{label},{' '.join(map(str, img.ravel()))}\n" for label, img in zip(labels, images, strict=True)
    )
    opener = gzip.open if gz else open
    with opener(path, "wt") as handle:
        handle.write(text)
    return images, labels


FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def write_ferplus(path: Path, n_training: int, n_test: int = 3) -> np.ndarray:
    """FER+ lines for `n_training` Training rows (+ test rows); returns the Training votes in FER2013 order.

    Row i votes 6 for class i % 7 (in FER2013's order), 2 for the next class and 2 contempt/unknown; every 10th row
    has no class vote at all (judged not a face)."""
    ferplus_order = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]
    columns = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    fer2013_to_column = dict(zip(EMOTIONS, columns, strict=True))
    lines, expected = [FERPLUS_HEADER], []
    for row in range(n_training + n_test):
        votes = dict.fromkeys(ferplus_order, 0)
        fer_votes = np.zeros(7, np.float32)
        if row % 10 != 9:
            first, second = row % 7, (row + 1) % 7
            votes[fer2013_to_column[EMOTIONS[first]]] = 6
            votes[fer2013_to_column[EMOTIONS[second]]] = 2
            fer_votes[first], fer_votes[second] = 6, 2
        usage = "Training" if row < n_training else "PublicTest"
        cells = [str(votes[c]) for c in ferplus_order]
        lines.append(",".join([usage, f"fer{row:07d}.png", *cells, "1", "1", "0" if row % 10 != 9 else "10"]))
        if usage == "Training":
            expected.append(fer_votes)
    path.write_text("\n".join(lines) + "\n")
    return np.array(expected)


@pytest.fixture
def fer_dir(tmp_path: Path) -> Path:
    """A data dir with a 140-row train.csv and a gzipped 42-row test_with_emotions.csv."""
    data = tmp_path / "fer"
    data.mkdir()
    write_fer_csv(data / "train.csv", 140, seed=1)
    write_fer_csv(data / "test_with_emotions.csv.gz", 42, seed=2, gz=True)
    return data


def compose_train_config(tmp_path: Path, data_dir: Path, overrides: list[str] = ()) -> DictConfig:
    """The real train config, shrunk to run in seconds on the synthetic data."""
    is_timm = any(o.startswith("model=timm") for o in overrides)
    shrink_model = ["model.net.input_size=48"] if is_timm else ["model.net.widths=[8,16]"]
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(
            config_name="train",
            overrides=[
                f"paths.data_dir={data_dir}",
                f"paths.cache_dir={tmp_path / 'cache'}",
                "data.batch_size=16",
                "data.eval_batch_size=32",
                *shrink_model,
                "trainer.max_epochs=1",
                "trainer.precision=32-true",
                "logger=csv",
                *overrides,
            ],
        )
    run = tmp_path / "run"  # a folder of its own for each new run: train.py refuses one that holds a run
    for number in itertools.count(2):
        if not (run / "checkpoints" / "last.ckpt").exists():
            break
        run = tmp_path / f"run{number}"
    with open_dict(cfg):
        cfg.paths.output_dir = str(run)
        cfg.export.path = str(run / "model" / "my_own_model.pkl")
        cfg.callbacks.model_checkpoint.dirpath = str(run / "checkpoints")
        cfg.trainer.enable_progress_bar = False
        del cfg.callbacks.progress_bar
    return cfg


def tiny_teacher_distill_config(
    tmp_path: Path, data_dir: Path, teacher_preprocessing: Preprocessing, overrides: list[str]
) -> tuple[DictConfig, Path]:
    """The distill experiment's config on the synthetic data (no random erasing, no test), its teacher a tiny VGG
    exported to `tmp_path/teacher.pkl` with `teacher_preprocessing`; returns the config and the teacher's path."""
    teacher_path = tmp_path / "teacher.pkl"
    torch.manual_seed(0)
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), teacher_preprocessing, teacher_path)
    distill = ["experiment=fer_vgg_large_distill", "init_from=null", f"teachers=[{teacher_path}]"]
    quiet = ["augmentation.train.erasing_prob=0", "test=false"]
    return compose_train_config(tmp_path / "run", data_dir, [*distill, *overrides, *quiet]), teacher_path


@pytest.fixture
def real_data_dir() -> Path:
    """../shared/data/fer2013 (or $FER_DATA_DIR); skips when the real data is absent."""
    import os

    data = Path(os.environ.get("FER_DATA_DIR", SHARED_DATA_DIR))
    if not (data / "test_with_emotions.csv.gz").exists() and not (data / "test_with_emotions.csv").exists():
        pytest.skip(f"real FER2013 data not found in {data}")
    return data


def train_script_error(run_dir: Path, data_dir: Path, overrides: list[str]) -> str:
    """Run `scripts/train.py` expecting bad input: assert a one-line `error:` (exit 2, no traceback) and that
    nothing was trained; return that line."""
    result = subprocess.run(
        [sys.executable, "scripts/train.py", *overrides, f"paths.data_dir={data_dir}", f"hydra.run.dir={run_dir}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not (run_dir / "checkpoints").exists(), "it trained instead of refusing"
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: ")
    return last_line


def run_until_ctrl_c(cfg: DictConfig) -> int:
    """Run training (`tasks.train.run`) with a config whose callback presses Ctrl-C; its exit status (130 expected).
    Python's SIGINT handler is put back afterwards: the run installs its own."""
    from facial_emotion.tasks.train import run

    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as stop:
            run(cfg)
    finally:
        signal.signal(signal.SIGINT, handler)
    return stop.value.code


FIGURE = "figure"  # a test's `record_property(FIGURE, text)` is printed at the end of the run, pass or fail


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures tests recorded (the committed models' test accuracy), so CI logs show them."""
    reports = [r for outcome in ("passed", "failed") for r in terminalreporter.stats.get(outcome, [])]
    figures = [value for report in reports for key, value in report.user_properties if key == FIGURE]
    if figures:
        terminalreporter.section("measured figures")
        for line in figures:
            terminalreporter.write_line(line)


def unused_port() -> int:
    """A local TCP port nothing listens on (bound, then closed): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
