"""Frame -> faces with stable ids and smoothed emotion probabilities (detector, cropper, tracker, model)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.async_detector import AsyncFaceDetector
from facial_emotion.video.face_aligner import FaceWarper
from facial_emotion.video.face_detector import DetectedFace, FaceDetector
from facial_emotion.video.tracker import EmotionSmoother, IouTracker

STAGES = ("decode", "detect", "track", "classify")


@dataclass(frozen=True)
class FaceEmotion:
    """One tracked face in one frame: id, xyxy box, smoothed probabilities, their top class, 5 landmarks."""

    track_id: int
    box: np.ndarray
    probabilities: np.ndarray
    label: str
    landmarks: np.ndarray | None = None

    @property
    def probability(self) -> float:
        return float(self.probabilities.max())


@dataclass
class FrameResult:
    """A processed frame: its time, pixels, faces, whether detections were applied, and seconds per stage.

    `detection_running`: a detection (on the detector thread) was in flight while this frame was classified.
    """

    timestamp: float
    frame: np.ndarray
    faces: list[FaceEmotion]
    detected: bool
    timings: dict[str, float] = field(default_factory=dict)
    detection_running: bool = False


def classify_faces(
    frame: np.ndarray, faces: Sequence[DetectedFace], cropper: FaceWarper, predictor: EmotionPredictor
) -> np.ndarray:
    """The one crop -> predict step of photos and video: (N, classes) probabilities for the faces of a frame."""
    return predictor.predict_proba(cropper.crop_all(frame, faces))


class EmotionPipeline:
    """Runs the detector every `detect_every` frames and the tracker's motion model in between.

    All faces of a frame go to the predictor in one batch; each track's probabilities are smoothed. With
    `async_detection` the detector runs on its own thread (the first frame waits for it): a detection starts
    when the last one has finished and `detect_every` frames have passed, and its faces update the tracker
    on the first frame after it finished; every frame in between is tracked and classified meanwhile.
    """

    def __init__(
        self,
        detector: FaceDetector,
        cropper: FaceWarper,
        tracker: IouTracker,
        predictor: EmotionPredictor,
        smoother: EmotionSmoother,
        detect_every: int = 3,
        async_detection: bool = True,
    ) -> None:
        self.detector = detector
        self.cropper = cropper
        self.tracker = tracker
        self.predictor = predictor
        self.smoother = smoother
        self.detect_every = max(1, int(detect_every))
        self._frame_index = 0
        self._async = AsyncFaceDetector(detector) if async_detection else None
        self._last_submitted = 0

    def close(self) -> None:
        """Stop the detector thread, if any."""
        if self._async is not None:
            self._async.close()

    def _async_tracks(self, frame: np.ndarray, index: int) -> tuple[list, bool]:
        """Tracks for this frame from the latest finished detection (or the motion model); starts the next one."""
        if index == 0:
            self._async.submit(frame, index)
            done = self._async.collect(wait=True)
        else:
            done = self._async.collect()
            if not self._async.busy and index - self._last_submitted >= self.detect_every:
                self._async.submit(frame, index)
                self._last_submitted = index
        if done is not None:
            return self.tracker.update(done[1]), True
        return [track for track in self.tracker.predict() if track.missed == 0], False

    def reset(self) -> None:
        """Start a new stream: no tracks, and the detector runs on the next frame."""
        if self._async is not None:
            self._async.collect(wait=True)  # a detection of the last stream still running: drop its faces
        self.tracker.reset()
        self._frame_index = 0

    def process(self, frame: np.ndarray, timestamp: float) -> FrameResult:
        """Detect or track, then classify the faces of one BGR frame."""
        timings = dict.fromkeys(STAGES, 0.0)
        index = self._frame_index
        detect_now = index % self.detect_every == 0
        self._frame_index += 1
        clock = time.perf_counter()
        if self._async is not None:
            tracks, detect_now = self._async_tracks(frame, index)
        elif detect_now:
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
                face = FaceEmotion(track.track_id, track.box.copy(), track.probabilities, label, track.face.landmarks)
                results.append(face)
        timings["classify"] = time.perf_counter() - clock
        running = self._async is not None and self._async.running
        return FrameResult(timestamp, frame, results, detect_now, timings, running)

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
