"""Cut a face so its five landmarks land where FER2013's faces have theirs (a similarity transform)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facial_emotion.video.face_aligner import FER_FACE_SIZE, FaceWarper
from facial_emotion.video.face_detector import DetectedFace


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + shift that maps `source` (N, 2) points closest onto `target` (N, 2)
    in least squares (Umeyama 1991), without reflection."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - source_mean, target - target_mean
    u, singular, vt = np.linalg.svd(dst.T @ src / len(source))
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / (src**2).sum(axis=1).mean()
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = target_mean - scale * rotation @ source_mean
    return matrix


class LandmarkAligner(FaceWarper):
    """Warp each face so its landmarks (left eye, right eye, nose, mouth left, mouth right) best match
    `targets`, (x, y) in pixels of the `size` x `size` output: same scale, position and roll as the
    faces the model was trained on."""

    def __init__(self, targets: Sequence[Sequence[float]], size: int = FER_FACE_SIZE) -> None:
        self.targets = np.asarray(targets, dtype=np.float64)
        if self.targets.shape != (5, 2):
            raise ValueError(f"targets must be 5 (x, y) points, got shape {self.targets.shape}")
        self.size = int(size)

    def matrix_for(self, face: DetectedFace) -> np.ndarray:
        """The 2x3 frame -> crop transform for one face."""
        return similarity_transform(face.landmarks, self.targets)

    def _warp(self, gray: np.ndarray, face: DetectedFace) -> np.ndarray:
        return self._warp_with(gray, self.matrix_for(face))
