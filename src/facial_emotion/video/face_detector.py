"""Find faces in a BGR frame with MTCNN on the CPU, at a reduced detection resolution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True)
class DetectionAttempt:
    """One way of running MTCNN on an image: replicate-pad each side by `pad` times its length first (a face
    filling the image then has the context MTCNN's first stage needs), equalise the luminance histogram
    (dark or flat film stills), the three stage thresholds, the image pyramid's scale step `factor` and the
    lowest final score kept (None: the detector's own)."""

    pad: float = 0.0
    equalize: bool = False
    thresholds: tuple[float, float, float] | None = None
    factor: float = 0.709
    min_score: float | None = None


class FaceDetector:
    """MTCNN on the CPU; the frame is downscaled so its longer side is at most `max_side` before detecting.

    `min_face_size` is in pixels of the downscaled image; faces scoring below `min_score` are dropped.
    `pad` replicate-pads the image before detection (photos that are mostly face); when nothing is found,
    each of `retries` (dicts of DetectionAttempt's fields) is tried in turn until one finds a face. Boxes and
    landmarks are always in the original frame's pixels.
    """

    def __init__(
        self,
        min_face_size: int = 30,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        max_side: int = 320,
        min_score: float = 0.9,
        pad: float = 0.0,
        retries: Sequence[Mapping] = (),
    ) -> None:
        self.max_side = int(max_side)
        self.min_score = float(min_score)
        self.min_face_size = int(min_face_size)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.attempts = [DetectionAttempt(pad=float(pad))] + [_attempt(retry) for retry in retries]
        self._mtcnns: dict[tuple, MTCNN] = {}
        self._mtcnn = self._mtcnn_for(self.thresholds, DetectionAttempt.factor)

    def _mtcnn_for(self, thresholds: tuple[float, ...], factor: float, min_face_size: int | None = None) -> MTCNN:
        min_face_size = min_face_size or self.min_face_size
        key = (*thresholds, factor, min_face_size)
        if key not in self._mtcnns:
            self._mtcnns[key] = MTCNN(
                keep_all=True,
                device="cpu",
                min_face_size=min_face_size,
                thresholds=list(thresholds),
                factor=factor,
            )
        return self._mtcnns[key]

    def detection_scale(self, frame_shape: tuple[int, ...]) -> float:
        """Detection resolution / frame resolution for a frame of this shape."""
        return min(1.0, self.max_side / max(frame_shape[:2]))

    def min_face_size_for(self, faces: list[DetectedFace], frame_shape: tuple[int, ...]) -> int:
        """A smallest face size (detection pixels) that still finds faces as large as half the smallest of
        `faces`, on a coarse grid (30, 45, 67, ...: few MTCNN instances); the configured minimum without faces.

        MTCNN's cost is its image pyramid, which starts at the scale that makes `min_face_size` 12 px: when the
        faces are large, skipping the finest levels makes a detection several times cheaper."""
        if not faces:
            return self.min_face_size
        scale = self.detection_scale(frame_shape)
        smallest = min(float(min(face.box[2] - face.box[0], face.box[3] - face.box[1])) for face in faces) * scale
        size = self.min_face_size
        while size * 1.5 <= smallest / 2:
            size = int(size * 1.5)
        return size

    def detect(self, frame_bgr: np.ndarray, min_face_size: int | None = None) -> list[DetectedFace]:
        """All faces in a (H, W, 3) BGR uint8 frame (or a (H, W) grayscale one), best score first.

        `min_face_size` (detection pixels) replaces the configured one for this call (see `min_face_size_for`)."""
        if frame_bgr.ndim == 2:
            frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
        scale = self.detection_scale(frame_bgr.shape)
        small = frame_bgr
        if scale < 1.0:  # at least a pixel each way: a 1 x 2000 strip would round to nothing
            size = (max(1, round(frame_bgr.shape[1] * scale)), max(1, round(frame_bgr.shape[0] * scale)))
            small = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
        for attempt in self.attempts:
            faces = self._detect_once(small, attempt, min_face_size)
            if faces:
                return [DetectedFace(face.box / scale, face.score, face.landmarks / scale) for face in faces]
        return []

    def _detect_once(
        self, image: np.ndarray, attempt: DetectionAttempt, min_face_size: int | None = None
    ) -> list[DetectedFace]:
        """Faces in `image`'s own pixels, found after the attempt's padding and equalisation."""
        if attempt.equalize:
            ycrcb = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb)
            ycrcb[..., 0] = cv2.equalizeHist(ycrcb[..., 0])
            image = cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)
        pad_y, pad_x = (int(round(attempt.pad * side)) for side in image.shape[:2])
        if pad_x or pad_y:
            image = cv2.copyMakeBorder(image, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
        if min(image.shape[:2]) < (
            min_face_size or self.min_face_size
        ):  # too small to hold a face MTCNN can find (it would crash)
            return []
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        mtcnn = self._mtcnn_for(attempt.thresholds or self.thresholds, attempt.factor, min_face_size)
        min_score = self.min_score if attempt.min_score is None else attempt.min_score
        boxes, scores, landmarks = mtcnn.detect(rgb, landmarks=True)
        if boxes is None:
            return []
        offset = np.array([pad_x, pad_y], dtype=np.float32)
        faces = [
            DetectedFace(box.astype(np.float32), float(score), marks.astype(np.float32)).shifted(-offset)
            for box, score, marks in zip(boxes, scores, landmarks, strict=True)
            if score >= min_score
        ]
        return sorted(faces, key=lambda face: -face.score)


def _attempt(retry: Mapping) -> DetectionAttempt:
    """A DetectionAttempt from a config mapping (lists become tuples, numbers floats)."""
    fields = dict(retry)
    if fields.get("thresholds") is not None:
        fields["thresholds"] = tuple(float(t) for t in fields["thresholds"])
    return DetectionAttempt(**fields)
