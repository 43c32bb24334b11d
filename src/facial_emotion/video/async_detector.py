"""Face detection on a worker thread, so the frames in between are tracked and classified without waiting.

MTCNN (PyTorch) and ONNX Runtime release the GIL while they compute, so on two cores the detector's thread
and the classifier run at the same time. One detection is in flight at most; its result is picked up by the
first frame processed after it finished.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from facial_emotion.video.face_detector import DetectedFace, FaceDetector


class AsyncFaceDetector:
    """Runs `detector.detect` on one background thread; `submit` when idle, `collect` when done."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-detector")
        self._pending: Future | None = None
        self._pending_index = -1

    @property
    def busy(self) -> bool:
        """A detection is in flight (submitted and not yet collected)."""
        return self._pending is not None

    @property
    def running(self) -> bool:
        """A detection is computing right now."""
        return self._pending is not None and not self._pending.done()

    def submit(self, frame: np.ndarray, frame_index: int, min_face_size: int | None = None) -> None:
        """Start detecting faces in `frame` (copied: the caller may reuse its buffer). Only when not busy.
        `min_face_size`: see `FaceDetector.detect`."""
        if self._pending is not None:
            raise RuntimeError("a detection is already in flight; collect it first")
        kwargs = {} if min_face_size is None else {"min_face_size": min_face_size}
        self._pending = self._pool.submit(self.detector.detect, frame.copy(), **kwargs)
        self._pending_index = frame_index

    def collect(self, wait: bool = False) -> tuple[int, list[DetectedFace]] | None:
        """(index of the detected frame, faces) once the detection has finished (or after waiting), else None."""
        if self._pending is None or not (wait or self._pending.done()):
            return None
        faces = self._pending.result()  # re-raises a detector error in the caller's thread
        self._pending = None
        return self._pending_index, faces

    def close(self) -> None:
        """Stop the worker thread (after the detection in flight, if any)."""
        self._pool.shutdown(wait=True)
