"""A quoted `~` in any path option means $HOME: Hydra passes it through as is, the tasks expand it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from facial_emotion.core.user_paths import expand_home
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks import average_models, write_architecture
from tests.conftest import CONFIG_DIR
from tests.test_weight_average import tiny_model_file


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$HOME in a temporary folder, with the working directory beside it (where a literal `~` folder would go)."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home


def test_expand_home_rewrites_home_paths_everywhere_and_leaves_the_rest(home: Path) -> None:
    cfg = OmegaConf.create(
        {
            "model_path": "~/models/m.pkl",
            "videos": ["~/a.mp4", "clips/b.mp4", 3],
            "group": {"output_dir": "~", "note": "~5 minutes", "plain": "/data/x"},
            "derived": "${model_path}.onnx",
            "required": "???",
            "none": None,
        }
    )
    expand_home(cfg)
    assert cfg.model_path == f"{home}/models/m.pkl"
    assert list(cfg.videos) == [f"{home}/a.mp4", "clips/b.mp4", 3]
    assert cfg.group == {"output_dir": str(home), "note": "~5 minutes", "plain": "/data/x"}
    assert OmegaConf.is_interpolation(cfg, "derived") and cfg.derived == f"{home}/models/m.pkl.onnx"
    assert OmegaConf.is_missing(cfg, "required") and cfg.none is None


def test_quoted_home_paths_read_and_write_under_home(home: Path, fer_dir: Path) -> None:
    """The same overrides a user types: `'model_paths=["~/a.pkl",...]'`, `output="~/soup/avg.pkl"`."""
    tiny_model_file(home / "a.pkl", 0)
    tiny_model_file(home / "b.pkl", 1)
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        averaging = compose(
            "average_models",
            [
                'model_paths=["~/a.pkl","~/b.pkl"]',
                'output="~/soup/avg.pkl"',
                f"paths.data_dir={fer_dir}",
                "min_faces=0",
            ],
        )
        architecture = compose("write_architecture", ['model_path="~/soup/avg.pkl"', "notes=null"])
    assert averaging.output == "~/soup/avg.pkl"  # Hydra leaves the quoted ~ alone

    assert average_models.run(averaging) == 0
    write_architecture.run(architecture)

    assert set(load_model_file(home / "soup" / "avg.pkl").temperatures) >= {"center"}  # averaged and recalibrated
    assert "VGGNet" in (home / "soup" / "avg_architecture.txt").read_text()
    assert list(Path.cwd().iterdir()) == []  # no folder literally named "~" in the working directory
