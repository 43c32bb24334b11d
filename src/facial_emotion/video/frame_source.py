"""Open a webcam index, a video file or a network stream and yield (timestamp in seconds, BGR frame)."""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# FFmpeg's own log lines ("moov atom not found") would precede our one-line errors; -8 = quiet.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from facial_emotion.video.latest_frame import LatestFrameReader  # noqa: E402


class VideoSourceError(RuntimeError):
    """A video source that cannot be used; the message is one line meant for the user."""


# What FFmpeg opens as a network stream: IP cameras (RTSP), phone camera apps (MJPEG over HTTP), encoders (RTMP, SRT).
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt")
STREAM_TIMEOUT_MS = 10_000
# How far short of its header a file may end before it counts as truncated. On the 10 videos of ../shared/videos,
# as MP4 and re-encoded to MOV, MKV, WebM and AVI (with and without audio), the last frame read reached the header's
# count or fell 1 frame short (a duration that includes the audio's last packet); 3 leaves a margin over that.
# The check goes by the stream position of the last frame read, not by how many frames were read: a variable
# frame-rate clip re-encoded to MKV, WebM or AVI states 184 frames at 30 fps and holds 135 frames that span them.
# Not told apart: an MKV or WebM whose audio outlasts its video (OpenCV states the length of the longer track).
TRUNCATION_TOLERANCE_FRAMES = 3
# A file frame's time is its presentation time (OpenCV's CAP_PROP_POS_MSEC after the read) from the first frame's.
# One within this of its index / fps is given index / fps exactly: a constant-rate file then times its frames as it
# always did, unmoved by its container's rounding (MKV and WebM count in whole milliseconds: a 29.97 fps frame at
# 0.0334 s is stored as 0.033 s) or by float noise (1.0 s read back as 0.9999999999999998 would print second 0).
FRAME_GRID_TOLERANCE_S = 0.001


def parse_source(source: str | int) -> int | Path | str:
    """`0` or `"0"` -> camera index 0; `rtsp://...`, `http://...` (see STREAM_SCHEMES) -> that URL; anything else ->
    a file path."""
    if isinstance(source, int) or str(source).strip().isdigit():
        return int(source)
    url = str(source).strip()
    if url_scheme(url) in STREAM_SCHEMES:
        return url
    return Path(str(source)).expanduser()


def url_scheme(text: str) -> str:
    """The lower-case scheme of `scheme://...` (`rtsp`, `https`), "" for anything else (a path)."""
    scheme, separator, _ = text.partition("://")
    return scheme.lower() if separator else ""


def redact_credentials(url: str) -> str:
    """The URL with any `user:password@` replaced by `***@`, fit for printing and logs."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1***@", url)


def _open_and_read_one(*args: object) -> tuple[cv2.VideoCapture, np.ndarray] | None:
    """`cv2.VideoCapture(*args)` and its first frame once that frame reads, else None (released); OpenCV's own log
    lines are silenced meanwhile, as the caller says what went wrong in one line."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        capture = cv2.VideoCapture(*args)
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if ok:
            return capture, frame
        capture.release()
        return None
    finally:
        cv2.utils.logging.setLogLevel(previous)


def stream_end(last_time: float, frames: int, fps: float) -> float:
    """Where `frames` frames of a file end whose last one starts at `last_time`: one frame period after it, at the
    stated rate (a variable-rate file does not say how long its last frame lasts); `frames / fps` exactly when the
    last frame is on the stated rate's grid, as every frame of a constant-rate file is."""
    if frames <= 0:
        return 0.0
    if last_time == (frames - 1) / fps:
        return frames / fps
    return last_time + 1 / fps


class FrameSource:
    """Frames of a camera or a live network stream (timestamp: wall clock since opening) or of a file, or a URL
    that serves one (timestamp: the frame's own presentation time, from the first frame's; a variable-frame-rate
    file's frames are not `1 / fps` apart).

    `resize` = (width, height) resizes every frame. `realtime` plays a file at its frames' own times, skipping
    frames when processing falls behind; a camera or a live stream is always real time. `end_time`: where the
    frames read or skipped so far end.

    A file that stops giving frames well before the frame count its header states (cut off, or damaged so that
    nothing after some frame decodes) ends there like any file, and `warning` then holds one line naming the file
    and the last frame read, also printed to stderr as `warning: ...`. A warning, not an error: the frames read are
    valid, and every consumer keeps what it made of them.
    """

    def __init__(self, source: str | int, resize: tuple[int, int] | None = None, realtime: bool = False) -> None:
        self.source = parse_source(source)
        self.resize = tuple(resize) if resize else None
        self.realtime = realtime
        self.is_camera = isinstance(self.source, int)
        self.is_stream = isinstance(self.source, str)  # a URL
        self._reader: LatestFrameReader | None = None
        self.warning: str | None = None
        self.frames_passed = 0  # a file's frames read or, played in real time, skipped so far
        if self.is_camera:
            self._capture, first_frame = self._open_camera(self.source)
        elif self.is_stream:
            self._capture, first_frame = self._open_stream(self.source)
        else:
            self._capture, first_frame = self._open_file(self.source)
        # A live stream states no length (a camera, RTSP, MJPEG over HTTP); a URL of a video file does.
        self.is_live = self.is_camera or (self.is_stream and self.frame_count is None)
        # The opening check read a file's first frame: it is kept, not re-read, because rewinding a file that has
        # no index (a browser's WebM recording, a piped AVI) leaves it at its end.
        self._first_frame: np.ndarray | None = None if self.is_live else first_frame
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 and np.isfinite(fps) else 30.0
        self._position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)  # of the last frame read
        self._origin_ms = self._position_ms  # the first frame's: its time is 0
        self._last_time = 0.0  # stream time of the last frame read or skipped
        count = self.frame_count
        self._latest_time = math.inf if count is None else (count + TRUNCATION_TOLERANCE_FRAMES) / self.fps

    @property
    def end_time(self) -> float:
        """A file's stream time where the frames read or skipped so far end (`stream_end` of the last one)."""
        return stream_end(self._last_time, self.frames_passed, self.fps)

    @property
    def description(self) -> str:
        if self.is_camera:
            return f"camera {self.source}"
        return redact_credentials(self.source) if self.is_stream else str(self.source)

    def is_file_at(self, path: str | Path) -> bool:
        """Whether `path` is this source's own video file (writing there would overwrite the video being read)."""
        if self.is_camera or self.is_stream:
            return False
        return Path(path).expanduser().resolve() == Path(self.source).resolve()

    @property
    def frame_count(self) -> int | None:
        """The number of frames a file's header states; None for a camera, a live stream or a file that does not
        say."""
        count = 0 if self.is_camera else self._capture.get(cv2.CAP_PROP_FRAME_COUNT)
        return int(count) if 0 < count < 2**30 else None  # 2**30: what OpenCV states for a file that does not say

    @staticmethod
    def _open_camera(index: int) -> tuple[cv2.VideoCapture, np.ndarray]:
        if index < 0:  # OpenCV's VideoCapture(-1) crashes the interpreter (segmentation fault) without a camera
            raise VideoSourceError(f"camera {index}: a camera index is 0 or more (0: the first camera)")
        opened = _open_and_read_one(index)
        if opened is None:
            raise VideoSourceError(f"camera {index} could not be opened (no camera, or it is in use)")
        return opened

    @staticmethod
    def _open_stream(url: str) -> tuple[cv2.VideoCapture, np.ndarray]:
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        timeouts += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        opened = _open_and_read_one(url, cv2.CAP_FFMPEG, timeouts)
        if opened is None:
            raise VideoSourceError(
                f"stream {redact_credentials(url)} could not be opened (unreachable, refused, or no video there)"
            )
        return opened

    @staticmethod
    def _open_file(path: Path) -> tuple[cv2.VideoCapture, np.ndarray]:
        if not path.exists():
            raise VideoSourceError(f"video file not found: {path}")
        if not path.is_file():
            raise VideoSourceError(f"not a file: {path}")
        if path.stat().st_size == 0:
            raise VideoSourceError(f"video file is empty: {path}")
        opened = _open_and_read_one(str(path))
        if opened is None:
            raise VideoSourceError(f"not a readable video (unknown format or no frames): {path}")
        return opened

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        try:
            yield from (self._live_frames() if self.is_live else self._file_frames())
        finally:
            self.close()

    def _live_frames(self) -> Iterator[tuple[float, np.ndarray]]:
        if not self.is_camera:  # a network stream queues what is not read; a camera driver drops it itself
            self._reader = LatestFrameReader(self._capture)
            for timestamp, frame in self._reader.frames():
                yield timestamp, self._resized(frame)
            return
        start = time.monotonic()
        while True:
            ok, frame = self._capture.read()
            if not ok:
                return
            yield time.monotonic() - start, self._resized(frame)

    def _file_frames(self) -> Iterator[tuple[float, np.ndarray]]:
        start = time.monotonic()
        index = 0
        while True:
            if self._first_frame is None and not self._capture.grab():
                self._check_complete(index)
                return
            timestamp = self._frame_time(index)
            index += 1
            self.frames_passed = index
            if self.realtime:
                lag = time.monotonic() - start - timestamp
                if lag > 1.0 / self.fps:  # behind: drop frames without converting them to BGR
                    self._first_frame = None
                    continue
                if lag < 0:
                    time.sleep(-lag)
            frame, self._first_frame = self._first_frame, None
            if frame is None:
                ok, frame = self._capture.retrieve()
                if not ok:
                    self.frames_passed = index - 1
                    self._check_complete(index - 1)
                    return
            yield timestamp, self._resized(frame)

    def _frame_time(self, index: int) -> float:
        """The stream time of frame `index`, just grabbed (frame 0: read when opening): CAP_PROP_POS_MSEC from the
        first frame's, or index / fps within FRAME_GRID_TOLERANCE_S of it. A position that is missing (OpenCV says
        0 for a frame without a timestamp), not after the frame before (a damaged file) or past the header's
        length (a wild timestamp would make the annotated video hold a frame for hours) is replaced by one frame
        period after the frame before."""
        nominal = index / self.fps
        if index == 0:
            self._last_time = 0.0
            return 0.0
        self._position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)
        position = (self._position_ms - self._origin_ms) / 1000
        if not (math.isfinite(position) and self._last_time < position <= self._latest_time):
            position = self._last_time + 1 / self.fps
        if abs(position - nominal) <= min(FRAME_GRID_TOLERANCE_S, 0.25 / self.fps):
            position = nominal
        self._last_time = position
        return position

    def _check_complete(self, frames_read: int) -> None:
        """At the end of a file after `frames_read` frames: set and print `warning` when the last frame read is
        more than TRUNCATION_TOLERANCE_FRAMES short of the count the header states."""
        count = self.frame_count
        if count is None:
            return
        reached = frames_read
        if self._position_ms and self._position_ms > 0 and np.isfinite(self._position_ms):
            reached = max(reached, round(self._position_ms / 1000 * self.fps) + 1)
        if reached >= count - TRUNCATION_TOLERANCE_FRAMES:
            return
        end = f"{stream_end(self._last_time, frames_read, self.fps):.1f} s"
        self.warning = (
            f"{self.description}: no frame could be read after frame {frames_read} of {count} (time {end}): "
            f"the file looks truncated; results cover 0-{end}"
        )
        with tqdm.external_write_mode(file=sys.stderr):  # a progress bar on stderr is redrawn below the line
            print(f"warning: {self.warning}", file=sys.stderr)

    def _resized(self, frame: np.ndarray) -> np.ndarray:
        if self.resize is None or (frame.shape[1], frame.shape[0]) == self.resize:
            return frame
        return cv2.resize(frame, self.resize, interpolation=cv2.INTER_AREA)

    @property
    def frames_dropped(self) -> int:
        """Frames of a live network stream skipped because newer ones arrived before they were taken."""
        return self._reader.dropped if self._reader is not None else 0

    def close(self) -> None:
        # A reader still blocked in read() past the timeout keeps the capture: releasing it under it would crash.
        if self._reader is None or self._reader.stop(timeout=STREAM_TIMEOUT_MS / 1000 + 1):
            self._capture.release()
