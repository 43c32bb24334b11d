"""Show annotated frames in a window when OpenCV has a GUI and there is a display."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

import cv2

from facial_emotion.video.pipeline import FrameResult
from facial_emotion.video.sinks import draw_faces

WINDOW_NAME = "Facial emotion"


def why_no_window(environ: Mapping[str, str] = os.environ, build_information: str | None = None) -> str | None:
    """Why an OpenCV window cannot be shown here, in words for the user; None where it can."""
    if sys.platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return "no display"
    info = cv2.getBuildInformation() if build_information is None else build_information
    gui = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.strip().startswith("GUI:")), "")
    if gui in ("", "NONE"):
        return (
            "this OpenCV has no window support (opencv-python-headless); pip install opencv-python for one, "
            "or watch it with save_video=PATH or the browser app (make serve)"
        )
    return None


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
