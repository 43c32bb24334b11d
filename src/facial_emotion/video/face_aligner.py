"""Cut a FER2013-like 48x48 grayscale face out of a frame: eyes level, square, tightly framed."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from facial_emotion.video.face_detector import DetectedFace

FER_FACE_SIZE = 48


class FaceWarper:
    """Cuts each detected face out of a frame as a (size, size) uint8 grayscale image; subclasses say where."""

    size: int = FER_FACE_SIZE

    def crop(self, frame: np.ndarray, face: DetectedFace) -> np.ndarray:
        """A (size, size) uint8 grayscale face from a BGR or grayscale frame."""
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        return self._warp(gray, face)

    def crop_all(self, frame: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        """(N, size, size) uint8 faces; the frame is converted to grayscale once."""
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        crops = [self._warp(gray, face) for face in faces]
        return np.stack(crops) if crops else np.zeros((0, self.size, self.size), dtype=np.uint8)

    def _warp(self, gray: np.ndarray, face: DetectedFace) -> np.ndarray:
        raise NotImplementedError

    def _warp_with(self, gray: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """Apply a 2x3 frame -> crop matrix (crop in `size` pixels).

        Warps at 4x the output size with bilinear sampling, then area-averages down: no aliasing on big faces.
        """
        work_size = self.size * 4
        upscaled = np.asarray(matrix, dtype=np.float64) * np.array([[4.0], [4.0]])
        upright = cv2.warpAffine(
            gray, upscaled, (work_size, work_size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return cv2.resize(upright, (self.size, self.size), interpolation=cv2.INTER_AREA)


class FaceCropper(FaceWarper):
    """Rotate about the face centre so the eyes are level, then crop a square and resize it to `size`.

    The square's side is the longer side of the detector box times `1 + margin`; its centre is the box
    centre moved down by `center_shift` times the side (MTCNN boxes sit a little high compared with
    FER2013's brow-to-chin framing). The defaults are `CropGeometry`'s (picked on labelled photos).
    """

    def __init__(self, margin: float = 0.2, center_shift: float = 0.1, size: int = FER_FACE_SIZE) -> None:
        self.margin = float(margin)
        self.center_shift = float(center_shift)
        self.size = int(size)

    def _warp(self, gray: np.ndarray, face: DetectedFace) -> np.ndarray:
        x1, y1, x2, y2 = (float(v) for v in face.box)
        side = max(x2 - x1, y2 - y1) * (1.0 + self.margin)
        left_eye, right_eye = face.landmarks[0], face.landmarks[1]
        angle = float(np.degrees(np.arctan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0])))
        center = np.array([(x1 + x2) / 2, (y1 + y2) / 2 + self.center_shift * side], dtype=np.float64)
        matrix = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, self.size / side)
        matrix[:, 2] += self.size / 2 - center
        return self._warp_with(gray, matrix)
