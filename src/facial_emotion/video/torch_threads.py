"""PyTorch on one intra-op thread for as long as any caller needs it (torch.set_num_threads is process-wide)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch


class OneTorchThread:
    """A counted hold on `torch.set_num_threads(1)`: the first holder saves the thread count, the last restores it.

    Two look-ahead runs overlapping in one process (two app video jobs) must not restore each other's value: with
    a plain save and restore the second run saves 1 and leaves PyTorch on one thread for good.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._saved = torch.get_num_threads()
                torch.set_num_threads(1)
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    torch.set_num_threads(self._saved)


one_torch_thread = OneTorchThread()
