"""Options read strictly (core/options.py): yes/no, numbers in range, paths that look like numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from facial_emotion.core.options import OptionError, flag, number, path_option


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
