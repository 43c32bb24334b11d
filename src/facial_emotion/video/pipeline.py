"""Frame -> faces with stable ids and smoothed emotion probabilities (detector, cropper, tracker, model)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.face_aligner import FaceWarper
from facial_emotion.video.face_detector import DetectedFace, FaceDetector
from facial_emotion.video.tracker import EmotionSmoother, IouTracker

STAGES = ("decode", "detect", "track", "classify")


@dataclass(frozen=True)
class FaceEmotion:
    """One tracked face in one frame: id, xyxy box, smoothed probabilities and their top class."""

    track_id: int
    box: np.ndarray
    probabilities: np.ndarray
    label: str

    @property
    def probability(self) -> float:
        return float(self.probabilities.max())


@dataclass
class FrameResult:
    """A processed frame: its time, pixels, faces, whether the detector ran, and seconds spent per stage."""

    timestamp: float
    frame: np.ndarray
    faces: list[FaceEmotion]
    detected: bool
    timings: dict[str, float] = field(default_factory=dict)


def classify_faces(
    frame: np.ndarray, faces: Sequence[DetectedFace], cropper: FaceWarper, predictor: EmotionPredictor
) -> np.ndarray:
    """The one crop -> predict step of photos and video: (N, classes) probabilities for the faces of a frame."""
    return predictor.predict_proba(cropper.crop_all(frame, faces))


class EmotionPipeline:
    """Runs the detector every `detect_every` frames and the tracker's motion model in between.

    All faces of a frame go to the predictor in one batch; each track's probabilities are smoothed.
    """

    def __init__(
        self,
        detector: FaceDetector,
        cropper: FaceWarper,
        tracker: IouTracker,
        predictor: EmotionPredictor,
        smoother: EmotionSmoother,
        detect_every: int = 3,
    ) -> None:
        self.detector = detector
        self.cropper = cropper
        self.tracker = tracker
        self.predictor = predictor
        self.smoother = smoother
        self.detect_every = max(1, int(detect_every))
        self._frame_index = 0

    def process(self, frame: np.ndarray, timestamp: float) -> FrameResult:
        """Detect or track, then classify the faces of one BGR frame."""
        timings = dict.fromkeys(STAGES, 0.0)
        detect_now = self._frame_index % self.detect_every == 0
        self._frame_index += 1
        clock = time.perf_counter()
        if detect_now:
            faces = self.detector.detect(frame)
            timings["detect"] = time.perf_counter() - clock
            clock = time.perf_counter()
            tracks = self.tracker.update(faces)
        else:
            tracks = [track for track in self.tracker.predict() if track.missed == 0]
        timings["track"] = time.perf_counter() - clock
        clock = time.perf_counter()
        results = []
        if tracks:
            probabilities = classify_faces(frame, [track.face for track in tracks], self.cropper, self.predictor)
            for track, probs in zip(tracks, probabilities, strict=True):
                track.probabilities = self.smoother.smooth(track.probabilities, probs)
                label = self.predictor.class_names[int(track.probabilities.argmax())]
                results.append(FaceEmotion(track.track_id, track.box.copy(), track.probabilities, label))
        timings["classify"] = time.perf_counter() - clock
        return FrameResult(timestamp, frame, results, detect_now, timings)

    def run(self, frames: Iterable[tuple[float, np.ndarray]]) -> Iterator[FrameResult]:
        """Process a stream of (timestamp, frame); each result's timings include the decode time."""
        iterator = iter(frames)
        while True:
            clock = time.perf_counter()
            try:
                timestamp, frame = next(iterator)
            except StopIteration:
                return
            decode = time.perf_counter() - clock
            result = self.process(frame, timestamp)
            result.timings["decode"] = decode
            yield result
