"""Read a live network stream on its own thread and hand out only its newest frame.

FFmpeg queues every frame of an RTSP or MJPEG stream until it is read; a consumer slower than the camera (three
faces on a laptop, a window being dragged) would fall further behind every second. Reading on a thread and keeping
only the latest frame keeps the emotions about the present: frames the consumer had no time for are dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np


class LatestFrameReader:
    """Reads `capture` on a daemon thread from construction on; `frames()` yields (seconds since start, frame)
    for the newest frame each time, and `dropped` counts the frames that were replaced before they were taken."""

    def __init__(self, capture: cv2.VideoCapture) -> None:
        self._capture = capture
        self._condition = threading.Condition()
        self._frame: np.ndarray | None = None
        self._timestamp = 0.0
        self._ended = False  # the stream ended, failed, or stop() was called
        self.dropped = 0
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._read_until_ended, name="stream-reader", daemon=True)
        self._thread.start()

    def _read_until_ended(self) -> None:
        while True:
            ok, frame = self._capture.read()
            with self._condition:
                if not ok or self._ended:
                    self._ended = True
                    self._condition.notify_all()
                    return
                if self._frame is not None:
                    self.dropped += 1
                self._frame, self._timestamp = frame, time.monotonic() - self._start
                self._condition.notify_all()

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """The newest frame each time one is asked for, waiting for the next when it was already taken; ends with
        the stream."""
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._frame is not None or self._ended)
                if self._frame is None:
                    return
                frame, timestamp, self._frame = self._frame, self._timestamp, None
            yield timestamp, frame

    def stop(self, timeout: float) -> bool:
        """Ask the thread to stop and wait up to `timeout` s (a read in progress ends within the stream's read
        timeout); True when it has stopped, so the capture may be released."""
        with self._condition:
            self._ended = True
            self._condition.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()
