"""Find faces in a BGR frame with MTCNN on the CPU, at a reduced detection resolution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from facenet_pytorch import MTCNN


@dataclass(frozen=True)
class DetectedFace:
    """One face in frame pixel coordinates: box (x1, y1, x2, y2), detector score, 5 landmarks (x, y).

    Landmarks are MTCNN's order: left eye, right eye (as seen in the image), nose, mouth left, mouth right.
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray

    def shifted(self, offset: np.ndarray) -> DetectedFace:
        """The same face moved by `offset` (dx, dy) pixels."""
        offset = np.asarray(offset, dtype=np.float32)
        return DetectedFace(self.box + np.tile(offset, 2), self.score, self.landmarks + offset)


class FaceDetector:
    """MTCNN on the CPU; the frame is downscaled so its longer side is at most `max_side` before detecting.

    `min_face_size` is in pixels of the downscaled image; faces scoring below `min_score` are dropped.
    """

    def __init__(
        self,
        min_face_size: int = 30,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        max_side: int = 320,
        min_score: float = 0.9,
    ) -> None:
        self.max_side = int(max_side)
        self.min_score = float(min_score)
        self.min_face_size = int(min_face_size)
        self._mtcnn = MTCNN(
            keep_all=True,
            device="cpu",
            min_face_size=int(min_face_size),
            thresholds=[float(t) for t in thresholds],
        )

    def detect(self, frame_bgr: np.ndarray) -> list[DetectedFace]:
        """All faces in a (H, W, 3) BGR uint8 frame (or a (H, W) grayscale one), best score first."""
        if frame_bgr.ndim == 2:
            frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
        scale = min(1.0, self.max_side / max(frame_bgr.shape[:2]))
        if min(frame_bgr.shape[:2]) * scale < self.min_face_size:  # too small to hold a face MTCNN can find
            return []
        small = frame_bgr
        if scale < 1.0:
            small = cv2.resize(frame_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        boxes, scores, landmarks = self._mtcnn.detect(rgb, landmarks=True)
        if boxes is None:
            return []
        faces = [
            DetectedFace(box.astype(np.float32) / scale, float(score), marks.astype(np.float32) / scale)
            for box, score, marks in zip(boxes, scores, landmarks, strict=True)
            if score >= self.min_score
        ]
        return sorted(faces, key=lambda face: -face.score)
