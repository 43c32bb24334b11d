"""Where a run writes, checked before it starts, and a write that fails during it said in one line.

A run folder on a read-only disk, or under a file, was Hydra's traceback from its own `mkdir`; an `export.path` that
cannot be written failed only after the whole training. A disk that fills up mid-run raised an OSError from inside
Lightning (a traceback, with the run's summary failing to be written on top of it).
"""

from __future__ import annotations

import errno
import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from facial_emotion.core.options import BAD_INPUT_STATUS, OptionError

# Write failures that freeing space (or quota) cures.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class OutputWriteError(OSError):
    """A file could not be written (or read) while the run ran; the message says which, why and how to go on."""


def writable_folder(folder: Path, option: str, value: Any = None) -> None:
    """OptionError naming `option` (given as `value`, the folder itself by default) when files cannot be made in
    `folder`: a probe file is written in it, or where it does not exist yet in the nearest folder above it (which
    makes nothing: a refused run leaves no empty folders)."""
    try:
        existing = next((p for p in (folder, *folder.parents) if p.exists()), Path.cwd())
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is a file, not a folder")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        given, where = (folder, "there") if value is None else (value, f"its folder {folder}")
        raise OptionError(f"{option}={given}: cannot write {where} ({_reason(error)})") from None


def write_failure(error: OSError, run_dir: Path, then: str) -> OutputWriteError:
    """The one line for `error` raised while the run ran: for a full disk (or one gone read-only) the file, the reason
    and `then` (how to resume) once space is freed; for anything else the file and the reason."""
    target = error.filename or run_dir
    if error.errno in (*_NO_SPACE, errno.EROFS):
        cure = "free space" if error.errno in _NO_SPACE else "make it writable"
        return OutputWriteError(f"cannot write {target}: {_reason(error)}; {cure}, then {then}")
    return OutputWriteError(f"{target}: {_reason(error)}")


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


class RefuseUnwritableRunFolder(Callback):
    """Hydra callback: `error: hydra.run.dir=...: cannot write there (...)`, exit 2, before Hydra makes the folder."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse_unwritable(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _refuse_unwritable(config.hydra.sweep.dir, "hydra.sweep.dir")


def _refuse_unwritable(folder: Any, option: str) -> None:
    try:
        writable_folder(Path(str(folder)), option)
    except OptionError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(BAD_INPUT_STATUS)
