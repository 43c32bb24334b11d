"""Where results go: console lines, an annotated video, a CSV or JSON-lines log."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from facial_emotion.core.options import prepare_output_file
from facial_emotion.video.pipeline import FaceEmotion, FrameResult

BOX_COLOUR = (80, 220, 80)
TEXT_COLOUR = (255, 255, 255)


def format_stream_time(seconds: float) -> str:
    """3.7 -> `00:00:03s`."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}s"


def emotion_text(face: FaceEmotion) -> str:
    """`Happy , 93%`."""
    return f"{face.label} , {face.probability:.0%}"


def describe_faces(prefix: str, faces: Sequence[FaceEmotion], no_face: str = "no face detected") -> list[str]:
    """One line per face: `prefix : Happy , 93%`, with `face <id>` when there are several; a whole image
    classified for want of a face says so."""
    if not faces:
        return [f"{prefix} : {no_face}"]
    if faces[0].whole_image:
        return [f"{prefix} : no face found, whole image : {emotion_text(faces[0])}"]
    if len(faces) == 1:
        return [f"{prefix} : {emotion_text(faces[0])}"]
    return [f"{prefix} : face {face.track_id} : {emotion_text(face)}" for face in faces]


class ConsoleSink:
    """Prints `Preprocessing ...` and the emotion lines once per second of stream time."""

    def __init__(self, print_line=print) -> None:
        self._print = print_line
        self._last_second: int | None = None

    def write(self, result: FrameResult) -> None:
        second = int(result.timestamp)
        if second == self._last_second:
            return
        self._last_second = second
        self._print("Preprocessing ...")
        for line in describe_faces(format_stream_time(result.timestamp), result.faces):
            self._print(line)

    def close(self) -> None:
        """Nothing to release."""


def draw_faces(frame: np.ndarray, faces: Sequence[FaceEmotion], class_names: Sequence[str]) -> np.ndarray:
    """A copy of the BGR frame with each face's box, id, top emotion and a bar per class."""
    canvas = frame.copy()
    scale = max(0.4, min(canvas.shape[:2]) / 900)
    for face in faces:
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), BOX_COLOUR, 2)
        title = f"{face.track_id}: {face.label} {face.probability:.0%}"
        cv2.putText(canvas, title, (x1, max(12, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, scale, BOX_COLOUR, 2)
        _draw_probability_bars(canvas, (x1, y1, x2), face.probabilities, class_names, scale)
    return canvas


def probability_panel_origin(
    box_x1: int, box_y1: int, box_x2: int, panel_size: tuple[int, int], frame_size: tuple[int, int]
) -> tuple[int, int]:
    """Top-left corner of the bar panel: right of the face, else left of it, else the frame edge; never off-frame."""
    panel_width, panel_height = panel_size
    frame_width, frame_height = frame_size
    if box_x2 + 6 + panel_width <= frame_width:
        x = box_x2 + 6
    elif box_x1 - 6 - panel_width >= 0:
        x = box_x1 - 6 - panel_width
    else:  # a face filling the frame: the panel has to cover part of it
        x = max(0, frame_width - panel_width)
    y = min(max(0, box_y1), max(0, frame_height - panel_height))
    return x, y


def _draw_probability_bars(
    canvas: np.ndarray,
    box_x1_y1_x2: tuple[int, int, int],
    probabilities: np.ndarray,
    names: Sequence[str],
    scale: float,
) -> None:
    row = int(22 * scale / 0.5)
    width = int(90 * scale / 0.5)
    x, y = probability_panel_origin(*box_x1_y1_x2, (width * 2, row * len(names)), (canvas.shape[1], canvas.shape[0]))
    for index, (name, prob) in enumerate(zip(names, probabilities, strict=True)):
        top = y + index * row
        cv2.rectangle(canvas, (x, top), (x + int(width * prob), top + row - 4), BOX_COLOUR, -1)
        cv2.putText(
            canvas,
            name[:8],
            (x + width + 4, top + row - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale * 0.8,
            TEXT_COLOUR,
            1,
        )


class AnnotatedVideoWriter:
    """Writes annotated frames to an .mp4 (or any extension OpenCV knows) at the source frame rate, on the
    frames' own clock: where a camera, a network stream or a file played in real time skipped frames because the
    CPU fell behind, or a variable-frame-rate file shows a frame for longer, the frame before the gap is held, so
    the video lasts as long as the stream did.

    `exact_times`: the timestamps are the frames' own (a file's), so a frame whose slot on the video's clock is
    already written (a variable-frame-rate file faster than its stated rate there) is left out, and later frames
    keep their place. Without it (a camera's times, taken when each frame was read) every frame is written: a frame
    read late and the next one read at once were still taken a frame period apart.
    """

    def __init__(self, path: str | Path, fps: float, class_names: Sequence[str], exact_times: bool = False) -> None:
        self.path = Path(str(path)).expanduser()
        check_video_target(self.path)
        self.fps = fps
        self.class_names = list(class_names)
        self.exact_times = exact_times
        self._writer: cv2.VideoWriter | None = None
        self._last: np.ndarray | None = None
        self.frames_written = 0

    def write(self, result: FrameResult) -> None:
        canvas = draw_faces(result.frame, result.faces, self.class_names)
        slot = int(result.timestamp * self.fps + 0.5)  # this frame's index on the video's clock
        if self.exact_times and slot < self.frames_written:
            self._last = canvas  # not written, but the newest: a gap after it holds this frame
            return
        if self._writer is None:
            height, width = canvas.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self._writer.isOpened():
                raise OSError(f"cannot write a video to {self.path} (OpenCV has no writer for {self.path.suffix!r})")
        for _ in range(slot - self.frames_written):  # a gap: what was on screen stays there until this frame
            self._writer.write(self._last if self._last is not None else canvas)
            self.frames_written += 1
        self._writer.write(canvas)
        self.frames_written += 1
        self._last = canvas

    def hold_until(self, seconds: float) -> None:
        """Hold the last frame up to stream time `seconds`: a file played in real time whose last frames were
        skipped (the CPU behind) still gives a video as long as the file."""
        if self._writer is None:
            return
        for _ in range(int(seconds * self.fps + 0.5) - self.frames_written):
            self._writer.write(self._last)
            self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


def check_video_target(path: Path) -> None:
    """Make `path`'s folder and try OpenCV's writer there, so a video that cannot be written fails before the first
    frame is processed, with an OSError saying why: a folder, a folder that cannot be written, an unknown suffix."""
    prepare_output_file(path, f"cannot write a video to {path}")
    existed = path.exists()
    try:  # a plain file first: OpenCV's writer only says that it did not open, not why
        with path.open("ab"):
            pass
    except OSError as error:
        raise OSError(f"cannot write a video to {path}: {error.strerror or error}") from None
    with _quiet_stderr():  # FFmpeg prints its reasons for refusing a container: the OSError says it in one line
        probe = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (16, 16))
        opened = probe.isOpened()
        probe.release()
    if not existed:
        path.unlink(missing_ok=True)
    if not opened:
        raise OSError(
            f"cannot write a video to {path} (OpenCV has no writer for {path.suffix!r}; .mp4, .avi, .mov or .mkv)"
        )


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (where FFmpeg and OpenCV's C++ code write) for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def logged_box(box: np.ndarray) -> list[float]:
    """An xyxy box as the log's x, y, w, h, to one decimal: the corners are rounded and w, h are their differences
    (rounded again, so that 0.7 - 0.3 is written 0.4, not 0.39999999999999997). x + w and y + h are the rounded right
    and bottom edges, so a box inside the image stays inside it; x and w rounded apart could each gain 0.05 (10.75
    to 639.5: x 10.8 and w 628.8 reach 639.6)."""
    x1, y1, x2, y2 = (round(float(v), 1) for v in box)
    return [x1, y1, round(x2 - x1, 1), round(y2 - y1, 1)]


class PredictionLog:
    """One row per face: a key (`time` of a frame, or `file` of a photo), face id, box (x, y, w, h), the class
    probabilities and the top emotion; `.csv` or `.jsonl`. `record_empty` adds a row with an empty face
    for a frame or photo without faces."""

    def __init__(
        self, path: str | Path, class_names: Sequence[str], key: str = "time", record_empty: bool = False
    ) -> None:
        self.path = Path(str(path)).expanduser()  # str: Hydra reads `log=123` as a number
        if self.path.suffix not in (".csv", ".jsonl"):
            raise ValueError(f"log must end in .csv or .jsonl, got {self.path.name}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a file where the folder should be, a read-only place
            raise OSError(f"cannot write the log {self.path}: {error.strerror} ({error.filename})") from None
        self.class_names = list(class_names)
        self.key = key
        self.record_empty = record_empty
        try:
            self._handle: TextIO = self.path.open("w", newline="")
        except OSError as error:  # a folder of that name, no permission, a place like /proc
            raise OSError(f"cannot write the log {self.path}: {error.strerror or error}") from None
        self._csv = None
        if self.path.suffix == ".csv":
            self._csv = csv.writer(self._handle)
            self._csv.writerow([key, "face", "x", "y", "w", "h", *self.class_names, "emotion"])

    def write(self, result: FrameResult) -> None:
        self.write_faces(round(result.timestamp, 3), result.faces)

    def write_faces(self, key_value: str | float, faces: Sequence[FaceEmotion]) -> None:
        if not faces and self.record_empty:
            self._write_row({self.key: key_value, "face": None, "box": None, "probabilities": None, "emotion": None})
        for face in faces:
            record = {
                self.key: key_value,
                "face": face.track_id,
                "box": logged_box(face.box),
                "probabilities": dict(
                    zip(self.class_names, (round(float(p), 5) for p in face.probabilities), strict=True)
                ),
                "emotion": face.label,
            }
            self._write_row(record)

    def _write_row(self, record: dict) -> None:
        if self._csv is None:
            self._handle.write(json.dumps(record) + "\n")
            return
        box = record["box"] or [""] * 4
        probabilities = (
            list(record["probabilities"].values()) if record["probabilities"] else [""] * len(self.class_names)
        )
        face = "" if record["face"] is None else record["face"]
        self._csv.writerow([record[self.key], face, *box, *probabilities, record["emotion"] or ""])

    def close(self) -> None:
        self._handle.close()
