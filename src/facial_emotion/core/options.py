"""Command-line options read strictly: a yes/no option, a number in range, a path, each a one-line error otherwise.

Hydra turns `realtime=false` into False but `realtime=no` into the text "no", which Python takes for true, and
`path=2024` into the number 2024; these read an option the way the user meant it or say why they cannot.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, NoReturn

from omegaconf import DictConfig, OmegaConf

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


# The exit status of a script refused its input (a missing file, a bad option), as argparse and the other scripts use.
BAD_INPUT_STATUS = 2


class OptionError(ValueError):
    """An option whose value cannot mean what the option needs; the message names the option."""


def exit_with_error(message: str) -> NoReturn:
    """End a script on bad input: `error: <message>`, one line on stderr, exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(BAD_INPUT_STATUS)


def require_options(cfg: DictConfig, **what_they_take: str) -> None:
    """End the script in one line when a required option (`???` in its config) is not given: `error: give
    path=<an image, a folder or a URL>` rather than OmegaConf's traceback."""
    missing = [f"{key}=<{what}>" for key, what in what_they_take.items() if OmegaConf.is_missing(cfg, key)]
    if missing:
        exit_with_error("give " + " and ".join(missing))


def flag(cfg: DictConfig, key: str) -> bool:
    """`cfg[key]` as a yes/no: true/false, yes/no, on/off, 1/0 (any case); null means no."""
    value = cfg.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise OptionError(f"{key} must be true or false, got {value!r}")


def number(
    cfg: DictConfig, key: str, minimum: float | None = None, integer: bool = False, above: float | None = None
) -> float | None:
    """`cfg[key]` as a finite number (a whole one with `integer`), at least `minimum` and more than `above`; null
    stays None."""
    value = cfg.get(key)
    if value is None:
        return None
    kind = "a whole number" if integer else "a number"
    parsed = as_float(value)
    if not math.isfinite(parsed) or (integer and not parsed.is_integer()):
        raise OptionError(f"{key} must be {kind}, got {value!r}")
    if minimum is not None and parsed < minimum:
        raise OptionError(f"{key} must be {kind} >= {minimum:g}, got {value!r}")
    if above is not None and parsed <= above:
        raise OptionError(f"{key} must be {kind} > {above:g}, got {value!r}")
    return int(parsed) if integer else parsed


def open_fraction(cfg: DictConfig, key: str) -> float | None:
    """The option at dotted `key` (e.g. `data.val_fraction`) as a number strictly between 0 and 1; null stays None."""
    value = OmegaConf.select(cfg, key)
    if value is None:
        return None
    parsed = as_float(value)
    if not 0 < parsed < 1:  # NaN fails too
        raise OptionError(f"{key} must be a number between 0 and 1 (both excluded), got {value!r}")
    return parsed


def as_float(value: Any) -> float:
    """An option's value as a float; NaN for what is not a number (true/false included)."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def path_option(value: Any) -> Path | None:
    """An option naming a file or folder as a Path (`path=2024` arrives as a number); null or "" stays None."""
    if value is None or value == "":
        return None
    return Path(str(value)).expanduser()


def prepare_output_file(path: Path, label: str) -> None:
    """Make the folder an output file goes in; OSError `label: why` when `path` is a folder or its folder cannot be
    made (a file in the way, no permission), so a run fails before its work, not after."""
    if path.is_dir():
        raise OSError(f"{label}: it is a folder, give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"{label}: cannot make its folder ({error.strerror or error})") from None
