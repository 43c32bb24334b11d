"""Options read strictly (core/options.py): yes/no, numbers in range, paths that look like numbers."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from facial_emotion.core.options import OptionError, flag, number, path_option, require_options
from tests.conftest import CONFIG_DIR


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (None, False), ("no", False), ("OFF", False), ("yes", True), (1, True), (0, False)],
)
def test_flag_reads_yes_and_no_as_meant(value: object, expected: bool) -> None:
    assert flag(OmegaConf.create({"show": value}), "show") is expected


def test_flag_refuses_what_is_neither() -> None:
    with pytest.raises(OptionError, match="show must be true or false, got 'maybe'"):
        flag(OmegaConf.create({"show": "maybe"}), "show")


def test_number_checks_kind_and_range() -> None:
    cfg = OmegaConf.create({"every": "0.5", "width": 640, "threads": 2.5, "bad": "abc", "low": -1, "none": None})
    assert number(cfg, "every", minimum=0) == 0.5 and number(cfg, "width", minimum=1, integer=True) == 640
    assert number(cfg, "none", minimum=0) is None
    for key, options, message in [
        ("threads", {"integer": True}, "threads must be a whole number, got 2.5"),
        ("bad", {}, "bad must be a number, got 'abc'"),
        ("low", {"minimum": 0}, "low must be a number >= 0, got -1"),
        ("low", {"above": -1}, "low must be a number > -1, got -1"),
    ]:
        with pytest.raises(OptionError, match=message):
            number(cfg, key, **options)
    with pytest.raises(OptionError, match="must be a number"):
        number(OmegaConf.create({"x": float("nan")}), "x")


def test_path_option_takes_numbers_for_names() -> None:
    assert path_option(2024) == Path("2024") and path_option("") is None and path_option(None) is None


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("predict_image", "give path=<an image, a folder of images or an http(s) URL>"),
        ("evaluate_faces", "give path=<a folder with a subfolder of photos per emotion>"),
        ("plot_learning_curves", "give run_dir=<a training run's folder>"),
        ("compare_runs", "give path=<a sweep folder, a folder of runs or one run folder>"),
    ],
)
def test_a_required_option_not_given_is_one_line_naming_it(script: str, message: str, capsys) -> None:
    """The first thing a new user types, `python scripts/predict_image.py`, was OmegaConf's traceback."""
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(script)
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(f"facial_emotion.tasks.{script}").run(cfg)
    assert stopped.value.code == 2 and capsys.readouterr().err == f"error: {message}\n"


def test_require_options_names_every_missing_option(capsys) -> None:
    cfg = OmegaConf.create({"model_paths": "???", "output": "???", "given": "x.pkl"})
    require_options(cfg, given="a file")  # given: nothing to say
    with pytest.raises(SystemExit):
        require_options(cfg, model_paths="files", output="a file", given="a file")
    assert capsys.readouterr().err == "error: give model_paths=<files> and output=<a file>\n"
