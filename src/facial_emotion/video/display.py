"""Show annotated frames in a window when OpenCV has a GUI and there is a display."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import cv2

from facial_emotion.video.pipeline import FrameResult
from facial_emotion.video.sinks import draw_faces

WINDOW_NAME = "Facial emotion"


def display_available() -> bool:
    """False on a headless machine or with OpenCV built without a GUI backend."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    return "NONE" not in next(
        (line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")),
        "GUI: NONE",
    )


class WindowSink:
    """An OpenCV window; pressing q or Esc sets `stopped`."""

    def __init__(self, class_names: Sequence[str]) -> None:
        self.class_names = list(class_names)
        self.stopped = False

    def write(self, result: FrameResult) -> None:
        cv2.imshow(WINDOW_NAME, draw_faces(result.frame, result.faces, self.class_names))
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.stopped = True

    def close(self) -> None:
        cv2.destroyWindow(WINDOW_NAME)
