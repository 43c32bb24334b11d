"""Shared pieces of the app tests: real clips and photos from ../shared, a short clip writer, a y4m writer, a video
file cut off half way."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facial_emotion.data.locate import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"
CLIP = SHARED / "videos" / "liveportrait_d18.mp4"
PHOTO = SHARED / "faces" / "nimstim" / "Happy" / "01F_HA_C.jpg"


def short_clip(path: Path, frames: int = 20, source: Path = CLIP) -> Path:
    """The first `frames` frames of `source` as an MP4 (a video upload that analyses in seconds)."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    writer = None
    for _ in range(frames):
        ok, frame = capture.read()
        if not ok:
            break
        if writer is None:
            height, width = frame.shape[:2]
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        writer.write(frame)
    capture.release()
    writer.release()
    return path


def mjpg_avi(path: Path, frames: int, source: Path = CLIP) -> Path:
    """The first `frames` frames of `source` as an MJPG AVI."""
    capture = cv2.VideoCapture(str(source))
    writer = None
    for _ in range(frames):
        ok, frame = capture.read()
        assert ok
        if writer is None:
            size = (frame.shape[1], frame.shape[0])
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), capture.get(cv2.CAP_PROP_FPS), size)
        writer.write(frame)
    capture.release()
    writer.release()
    return path


def truncated_avi(path: Path, frames: int, source: Path = CLIP) -> Path:
    """An MJPG AVI of `frames` frames of `source` with its bytes cut at half, as a copy or download cut off part way
    leaves it: OpenCV opens it and still states `frames` frames, and about half of them can be read."""
    intact = mjpg_avi(path.with_name(f"{path.stem}.intact{path.suffix}"), frames, source)
    data = intact.read_bytes()
    intact.unlink()
    path.write_bytes(data[: len(data) // 2])
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    capture.release()
    return path


def two_face_clip(
    path: Path, frames: int = 120, left_frames: int | None = None, size: int = 240, fps: float = 30.0
) -> Path:
    """Two real people side by side as an MP4: liveportrait_d18 on the left (for its first `left_frames` frames,
    then black: seen for a shorter time), videoretalking_face3 on the right (throughout)."""
    left = cv2.VideoCapture(str(SHARED / "videos" / "liveportrait_d18.mp4"))
    right = cv2.VideoCapture(str(SHARED / "videos" / "videoretalking_face3.mp4"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (2 * size, size))
    for index in range(frames):
        halves = []
        for capture in (left, right):
            ok, frame = capture.read()
            if not ok:  # the shorter clip starts again
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = capture.read()
            halves.append(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA))
        if left_frames is not None and index >= left_frames:
            halves[0][:] = 0
        writer.write(np.hstack(halves))
    left.release()
    right.release()
    writer.release()
    return path


def write_y4m(path: Path, source: Path = CLIP, frames: int = 60, size: tuple[int, int] = (640, 480)) -> Path:
    """A Y4M file (what Chromium's fake camera plays): a text header, then `FRAME` + raw I420 per frame."""
    capture = cv2.VideoCapture(str(source))
    width, height = size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            ok, frame = capture.read()
            if not ok:
                break
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            out.write(b"FRAME\n" + np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)).tobytes())
    capture.release()
    return path


def piped_webm(path: Path, frames: int = 20, source: Path = CLIP) -> Path:
    """The first `frames` frames of `source` as a WebM written through a pipe, as a browser's MediaRecorder writes
    one: no frame count and no index, so it cannot be rewound."""
    import subprocess

    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(source), "-frames:v", str(frames)]
    encoded = subprocess.run([*command, "-an", "-c:v", "libvpx", "-f", "webm", "-"], capture_output=True, check=True)
    path.write_bytes(encoded.stdout)
    return path


def png_stating_size(width: int, height: int) -> bytes:
    """A small PNG whose header states `width` x `height` pixels (its pixel data is an 8 x 8 image's): what a
    decompression bomb's header says, without the memory to build one."""
    import struct
    import zlib

    data = bytearray(cv2.imencode(".png", np.zeros((8, 8), np.uint8))[1].tobytes())
    header = struct.pack(">II", width, height) + bytes(data[24:29])  # IHDR: size, then depth, colour, ...
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)
