"""Files written whole: through a temporary file of this process and thread beside the target, then renamed.

A reader never sees half a file, an interrupted write (Ctrl-C, a full disk) leaves the earlier file as it was, and
two commands writing one file at once (two builds of one graph, calibrate.py beside predict.py record_metrics=true)
each write their own temporary file: with one shared name the second rename found it gone (FileNotFoundError).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


def private_temp_path(path: Path) -> Path:
    """A hidden name beside `path`, with its suffix (writers that go by it still work), used by no other process or
    thread."""
    return path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp{path.suffix}")


def write_whole(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write` on a private temporary file beside `path`, then rename it to `path`; nothing is left behind."""
    tmp = private_temp_path(Path(path))
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
