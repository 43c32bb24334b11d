"""A second stage (+init_from=) of a network built with other options is refused naming each option and its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config


def test_init_from_a_file_built_with_other_options_names_them(tmp_path: Path, fer_dir: Path) -> None:
    """Was both argument lists in full ('holds vgg {...}, but this run builds vgg {...}'), the difference to be
    found by eye."""
    first = compose_train_config(tmp_path / "first", fer_dir, ["test=false"])
    train(first)
    options = [f"+init_from={first.export.path}", "test=false"]
    other = compose_train_config(tmp_path / "other", fer_dir, [*options, "model.net.dropout=0.5"])
    with pytest.raises(ModelFileError) as refused:
        train(other)
    assert str(refused.value) == (
        f"{first.export.path}: holds vgg, but this run builds it with other options (model.net.dropout 0.5 here, 0.3 "
        "in the file): give model.net.dropout=0.3"
    )
    fixed = compose_train_config(tmp_path / "fixed", fer_dir, [*options, "model.net.dropout=0.3"])
    train(fixed)
    assert load_model_file(Path(fixed.export.path)).training["init_from"]["path"] == first.export.path


def test_one_teacher_given_without_brackets_is_one_teacher(tmp_path: Path, fer_dir: Path) -> None:
    """teachers=a.pkl was read one character at a time: 'error: / is a folder, not a model file'."""
    teacher = compose_train_config(tmp_path / "teacher", fer_dir, ["test=false"])
    train(teacher)
    options = ["experiment=fer_vgg_large_distill", "init_from=null", f"teachers={teacher.export.path}", "test=false"]
    student = compose_train_config(tmp_path / "student", fer_dir, [*options, "model.net.convs_per_stage=1"])
    assert isinstance(student.teachers, str)
    train(student)
    recorded = load_model_file(Path(student.export.path)).training["distillation"]["teachers"]
    assert [record["path"] for record in recorded] == [teacher.export.path]
