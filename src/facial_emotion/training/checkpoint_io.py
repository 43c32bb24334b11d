"""Checkpoints written whole: a full disk or a killed process never leaves a cut-short `last.ckpt` in place of the
previous one.

Lightning's own writer saves through an fsspec transaction whose temporary file lives in the system's temporary
folder, then moves it over the checkpoint: where that folder is another disk than the run's (a tmpfs `/tmp`, an
`outputs/` on a data disk), the move is a copy into the checkpoint itself, and a disk that fills up during it left
`last.ckpt` cut short: the run's only way to resume, gone. Here the temporary file is beside the checkpoint and
renamed over it (`core/whole_files.py`), so the previous checkpoint stays until the new one is whole.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from facial_emotion.core.whole_files import write_whole


class WholeCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO whose local files are written to a temporary file beside them, then renamed."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        """Save `checkpoint` to `path` whole; an OSError (a full disk) leaves the file at `path` as it was."""
        if storage_options is not None or not _is_local(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Serialised in memory first (as Lightning does): torch.save onto a full disk raises a RuntimeError from its
        # C++ writer, a file write raises the OSError (ENOSPC, EDQUOT) that names the file and the reason.
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        try:
            write_whole(path, lambda temporary: temporary.write_bytes(buffer.getbuffer()))
        except OSError as error:  # the temporary file's name, or none: name the checkpoint
            raise OSError(error.errno, error.strerror, str(path)) from None


def _is_local(path: _PATH) -> bool:
    return "file" in get_filesystem(path).protocol
