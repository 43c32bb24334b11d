"""One face per second of a video: the largest face found among a few frames of each second."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from facial_emotion.video.face_aligner import FaceWarper
from facial_emotion.video.face_detector import DetectedFace, FaceDetector
from facial_emotion.video.frame_source import FrameSource


def largest_face(faces: list[DetectedFace]) -> DetectedFace:
    return max(faces, key=lambda face: float(np.prod(face.box[2:] - face.box[:2])))


def faces_per_second(
    source: FrameSource, detector: FaceDetector, cropper: FaceWarper, tries_per_second: int = 5
) -> Iterator[tuple[int, np.ndarray | None]]:
    """Yield (second, 48x48 face or None) for every second the video starts, in order.

    Within a second, frames spaced `1 / tries_per_second` apart are tried from the first one until the
    detector finds a face; None means no tried frame of that second had one.
    """
    step = 1.0 / max(1, tries_per_second)
    current_second, found, next_try = 0, False, 0.0
    for timestamp, frame in source:
        second = int(timestamp)
        if second != current_second:
            if not found:
                yield current_second, None
            for missing in range(current_second + 1, second):  # seconds with no frame at all
                yield missing, None
            current_second, found, next_try = second, False, float(second)
        if found or timestamp + 1e-6 < next_try:
            continue
        next_try = timestamp + step
        faces = detector.detect(frame)
        if faces:
            found = True
            yield second, cropper.crop(frame, largest_face(faces))
    if not found:
        yield current_second, None
