"""write_architecture.py: the shipped files' texts carry their own iterations page, any other model file none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.export.exporter import architecture_text
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks import write_architecture
from tests.conftest import CONFIG_DIR, PROJECT_ROOT

SHIPPED_DIR = PROJECT_ROOT / "results" / "model"


def _config(*overrides: str):
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        return compose("write_architecture", list(overrides))


@pytest.mark.parametrize(
    ("model", "notes"),
    [
        ("my_own_model.pkl", "iterations.md"),
        ("my_own_model_real_faces.pkl", "real_faces_iterations.md"),
        ("pre_trained_model.pkl", "pre_trained_iterations.md"),
    ],
)
def test_each_committed_architecture_text_is_what_the_script_writes_for_its_file(model: str, notes: str) -> None:
    cfg = _config(f"model_path={SHIPPED_DIR / model}")
    page = write_architecture.notes_file(Path(cfg.model_path), cfg.notes, Path(cfg.shipped_dir), cfg.shipped_notes)
    assert page == SHIPPED_DIR / notes
    committed = (SHIPPED_DIR / model.replace(".pkl", "_architecture.txt")).read_text()
    current = architecture_text(load_model_file(SHIPPED_DIR / model), page.read_text())
    assert committed == current, f"stale: run python scripts/write_architecture.py model_path=results/model/{model}"


def test_a_copy_outside_the_shipped_folder_gets_no_iterations_page(tmp_path: Path) -> None:
    copy = tmp_path / "my_own_model.pkl"  # a shipped file's name, elsewhere: a user's own run
    shutil.copy(SHIPPED_DIR / "my_own_model.pkl", copy)
    write_architecture.run(_config(f"model_path={copy}"))
    text = (tmp_path / "my_own_model_architecture.txt").read_text()
    assert "VGGNet" in text and "Iterations" not in text


def test_notes_given_or_none_are_taken_as_given(tmp_path: Path) -> None:
    shipped = SHIPPED_DIR / "my_own_model.pkl"
    names = {"my_own_model.pkl": "iterations.md"}
    assert write_architecture.notes_file(shipped, None, SHIPPED_DIR, names) is None
    assert write_architecture.notes_file(tmp_path / "x.pkl", "n.md", SHIPPED_DIR, names) == Path("n.md")


def test_a_notes_file_that_cannot_be_read_is_one_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "copy.pkl"
    shutil.copy(SHIPPED_DIR / "pre_trained_model.pkl", model)
    with pytest.raises(SystemExit) as exit_info:
        write_architecture.run(_config(f"model_path={model}", f"notes={tmp_path / 'missing.md'}"))
    assert exit_info.value.code == 2
    assert (
        capsys.readouterr().err
        == f"error: notes={tmp_path / 'missing.md'}: cannot be read (No such file or directory)\n"
    )
    assert not (tmp_path / "copy_architecture.txt").exists()


def test_wrong_types_and_an_output_that_cannot_be_written_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """model_path=5 and notes=5 were TypeError tracebacks, an unwritable text an IsADirectoryError one."""
    model = tmp_path / "copy.pkl"
    shutil.copy(SHIPPED_DIR / "pre_trained_model.pkl", model)
    (tmp_path / "copy_architecture.txt").mkdir()  # in the way of the text
    for overrides, message in [
        (["model_path=5"], "error: model file not found: 5"),
        (["model_path=[a,b]"], "error: model_path takes one model file, got ['a', 'b']"),
        ([f"model_path={model}", "notes=5"], "error: notes=5: cannot be read (No such file or directory)"),
        (
            [f"model_path={model}", "notes=null"],
            f"error: cannot write {tmp_path}/copy_architecture.txt (Is a directory)",
        ),
    ]:
        with pytest.raises(SystemExit) as stop:
            write_architecture.run(_config(*overrides))
        assert stop.value.code == 2 and capsys.readouterr().err == message + "\n"
