"""Frame -> faces with stable ids and smoothed emotion probabilities (detector, cropper, tracker, model)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.async_detector import AsyncFaceDetector
from facial_emotion.video.face_aligner import FaceWarper
from facial_emotion.video.face_detector import DetectedFace, FaceDetector
from facial_emotion.video.torch_threads import one_torch_thread
from facial_emotion.video.tracker import EmotionSmoother, IouTracker, box_iou

STAGES = ("decode", "detect", "track", "classify")
# Synchronous modes plan frame i's detection from what is known by frame i - LOOKAHEAD_PERIODS * detect_every: the
# look-ahead thread decodes and detects that far ahead, inline detection uses the same horizon (same results).
LOOKAHEAD_PERIODS = 3


@dataclass(frozen=True)
class FaceEmotion:
    """One tracked face in one frame: id, xyxy box, smoothed probabilities, their top class, 5 landmarks.

    `box` is what results report: the face's box clipped to the frame (`clip_box`); the crop the model read was
    taken from the detector's box, which may reach beyond the edge. Landmarks are the detector's, unclipped.

    `whole_image`: not a detected face but a whole photo classified because none was found (id 0, no landmarks).
    """

    track_id: int
    box: np.ndarray
    probabilities: np.ndarray
    label: str
    landmarks: np.ndarray | None = None
    whole_image: bool = False

    @property
    def probability(self) -> float:
        return float(self.probabilities.max())


def clip_box(box: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """An xyxy box clipped to a frame of `shape` (height, width, ...): inside [0, width] x [0, height], as float32.

    A face cut by the edge keeps the part inside; a box wholly outside (a tracked face moved past the edge)
    becomes a zero-width or zero-height box on the nearest edge, so the face is still reported."""
    height, width = shape[:2]
    limits = np.array([width, height, width, height], dtype=np.float32)
    return np.clip(np.asarray(box, dtype=np.float32), 0.0, limits)


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

    Without `async_detection`, detections land on the frame they were run on, so a file's results do not depend
    on the CPU's speed. `run()` then still keeps the detector off the critical path when `lookahead_detection`
    is set: it decodes `LOOKAHEAD_PERIODS * detect_every` frames ahead and detects those frames on a worker
    thread while the earlier ones are classified; the results are the same as inline detection, frame for frame.

    Every `full_detection_every`-th detection searches faces of every size; the others skip MTCNN's finest
    pyramid levels and only find faces at least half as large as the smallest face of an earlier detection
    (`LOOKAHEAD_PERIODS` detections back, which the look-ahead thread knows; the latest with `async_detection`),
    several times cheaper when faces are large. 1 (or 0): every detection searches every size.

    Synchronous modes thin out detections while the scene is stable: when the last two detections known by
    `LOOKAHEAD_PERIODS` periods back each found exactly the faces already tracked, each within IoU 0.6 of its
    track, the next detection waits for `stable_detect_every` frames instead of `detect_every`;
    any change returns to `detect_every`. 0 (or <= detect_every): always every `detect_every` frames.
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
        lookahead_detection: bool = True,
        full_detection_every: int = 4,
        stable_detect_every: int = 9,
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
        self.full_detection_every = max(1, int(full_detection_every))
        self._detections: dict[int, list[DetectedFace]] = {}  # detection number -> faces (the last few)
        self._async_detections = 0
        self.stable_detect_every = int(stable_detect_every)
        self._planned = 0  # synchronous detections planned so far
        self._last_planned_frame: int | None = None
        self._stable: dict[int, bool] = {}  # frame of an applied detection -> it found the same faces
        self._lookahead: ThreadPoolExecutor | None = None
        if not async_detection and lookahead_detection:
            self._lookahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-detector-lookahead")

    def close(self) -> None:
        """Stop the detector thread, if any."""
        if self._async is not None:
            self._async.close()
        if self._lookahead is not None:
            self._lookahead.shutdown(wait=True)

    def _min_face_size(self, number: int, earlier: list[DetectedFace] | None, shape: tuple[int, ...]) -> int | None:
        """Smallest face size for detection `number` given faces found earlier (None: every size)."""
        if number % self.full_detection_every == 0 or not earlier:
            return None
        return self.detector.min_face_size_for(earlier, shape)

    def _detect_kwargs(self, number: int, shape: tuple[int, ...]) -> dict:
        """The detector arguments of synchronous detection `number`: sized from detection `number -
        LOOKAHEAD_PERIODS` (each detection is at least `detect_every` frames after the one before)."""
        self._detections = {k: v for k, v in self._detections.items() if k >= number - LOOKAHEAD_PERIODS}
        size = self._min_face_size(number, self._detections.get(number - LOOKAHEAD_PERIODS), shape)
        return {} if size is None else {"min_face_size": size}

    def _plan(self, index: int) -> int | None:
        """Synchronous modes: the detection number of frame `index` if it gets a detection, else None. Called
        once per frame, in order; decided only from detections applied by `LOOKAHEAD_PERIODS` periods before."""
        if index % self.detect_every:
            return None
        last = self._last_planned_frame
        if last is not None and index - last < self.stable_detect_every:
            horizon = index - LOOKAHEAD_PERIODS * self.detect_every
            known = [stable for frame, stable in self._stable.items() if frame <= horizon][-2:]
            if len(known) == 2 and all(known):
                return None
        self._planned, self._last_planned_frame = self._planned + 1, index
        return self._planned - 1

    def _update_tracks(self, frame_index: int, faces: list[DetectedFace]) -> list:
        """Tracker update with a detection; notes whether it found exactly the faces already tracked."""
        before = {track.track_id: track.box.copy() for track in self.tracker.tracks if track.missed == 0}
        tracks = self.tracker.update(faces)
        stable = bool(faces) and len(tracks) == len(before) == len(faces)
        stable = stable and all(
            t.track_id in before and box_iou(t.box[None], before[t.track_id][None])[0, 0] >= 0.6 for t in tracks
        )
        self._stable = {f: v for f, v in self._stable.items() if f > frame_index - 8 * self.stable_detect_every}
        self._stable[frame_index] = stable
        return tracks

    def _async_submit(self, frame: np.ndarray, index: int) -> None:
        latest = self._detections.get(self._async_detections - 1)
        size = self._min_face_size(self._async_detections, latest, frame.shape)
        self._async.submit(frame, index, min_face_size=size)

    def _async_tracks(self, frame: np.ndarray, index: int) -> tuple[list, bool]:
        """Tracks for this frame from the latest finished detection (or the motion model); starts the next one."""
        if index == 0:
            self._async_submit(frame, index)
            done = self._async.collect(wait=True)
        else:
            done = self._async.collect()
            if not self._async.busy and index - self._last_submitted >= self.detect_every:
                self._async_submit(frame, index)
                self._last_submitted = index
        if done is not None:
            self._detections = {self._async_detections: done[1]}
            self._async_detections += 1
            return self.tracker.update(done[1], frames_ago=index - done[0]), True
        return [track for track in self.tracker.predict() if track.missed == 0], False

    def reset(self) -> None:
        """Start a new stream: no tracks, and the detector runs on the next frame."""
        if self._async is not None:
            self._async.collect(wait=True)  # a detection of the last stream still running: drop its faces
        self.tracker.reset()
        self._frame_index = 0
        self._last_submitted = 0
        self._detections = {}
        self._async_detections = 0
        self._planned, self._last_planned_frame, self._stable = 0, None, {}

    def process(self, frame: np.ndarray, timestamp: float) -> FrameResult:
        """Detect or track, then classify the faces of one BGR frame."""
        return self._process(frame, timestamp)

    def _process(
        self, frame: np.ndarray, timestamp: float, planned: tuple[int | None, Future | None] | None = None
    ) -> FrameResult:
        """`process`; `planned` (look-ahead): this frame's detection number and its detection running on the
        worker, planned when the frame was decoded, instead of planning and detecting inline."""
        timings = dict.fromkeys(STAGES, 0.0)
        index = self._frame_index
        self._frame_index += 1
        clock = time.perf_counter()
        if self._async is not None:
            tracks, detect_now = self._async_tracks(frame, index)
            number = None
        else:
            number, detection = planned if planned is not None else (self._plan(index), None)
            detect_now = number is not None
        if number is not None:
            if detection is not None:
                faces = detection.result()
            else:
                faces = self.detector.detect(frame, **self._detect_kwargs(number, frame.shape))
            self._detections[number] = faces
            timings["detect"] = time.perf_counter() - clock
            clock = time.perf_counter()
            tracks = self._update_tracks(index, faces)
        elif self._async is None:
            tracks = [track for track in self.tracker.predict() if track.missed == 0]
        timings["track"] = time.perf_counter() - clock
        clock = time.perf_counter()
        results = []
        if tracks:
            probabilities = classify_faces(frame, [track.face for track in tracks], self.cropper, self.predictor)
            for track, probs in zip(tracks, probabilities, strict=True):
                track.probabilities = self.smoother.smooth(track.probabilities, probs)
                label = self.predictor.class_names[int(track.probabilities.argmax())]
                box = clip_box(track.box, frame.shape)  # reported only: the crop above used the track's box
                results.append(FaceEmotion(track.track_id, box, track.probabilities, label, track.face.landmarks))
        timings["classify"] = time.perf_counter() - clock
        running = self._async is not None and self._async.running
        return FrameResult(timestamp, frame, results, detect_now, timings, running)

    def run(self, frames: Iterable[tuple[float, np.ndarray]]) -> Iterator[FrameResult]:
        """Process a stream of (timestamp, frame); each result's timings include the decode time."""
        if self._lookahead is not None:
            yield from self._run_with_lookahead(iter(frames))
            return
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

    def _run_with_lookahead(self, frames: Iterator[tuple[float, np.ndarray]]) -> Iterator[FrameResult]:
        """`run` with the frames to detect decoded ahead and detected on the worker thread.

        While it runs, PyTorch (MTCNN) keeps to one intra-op thread unless the classifier is PyTorch too: MTCNN
        takes the same wall time on one thread as on two at half the CPU (51.7 vs 53.6 ms per full detection),
        and the freed core goes to ONNX Runtime's classifier, which has its own threads."""
        with nullcontext() if self.predictor.backend == "torch" else one_torch_thread.hold():
            yield from self._lookahead_frames(frames)

    def _lookahead_frames(self, frames: Iterator[tuple[float, np.ndarray]]) -> Iterator[FrameResult]:
        ahead: deque[tuple[float, np.ndarray, float, tuple[int | None, Future | None]]] = deque()
        next_index = self._frame_index
        # Frame i is decoded (and its detection planned and submitted) once frame i - depth is processed.
        depth = LOOKAHEAD_PERIODS * self.detect_every
        exhausted = False
        try:
            while True:
                while not exhausted and len(ahead) < depth:
                    clock = time.perf_counter()
                    try:
                        timestamp, frame = next(frames)
                    except StopIteration:
                        exhausted = True
                        break
                    frame = frame.copy()  # a source may reuse its buffer while the frame waits here
                    detection, number = None, self._plan(next_index)
                    if number is not None:
                        kwargs = self._detect_kwargs(number, frame.shape)
                        detection = self._lookahead.submit(self.detector.detect, frame, **kwargs)
                    ahead.append((timestamp, frame, time.perf_counter() - clock, (number, detection)))
                    next_index += 1
                if not ahead:
                    return
                timestamp, frame, decode, planned = ahead.popleft()
                result = self._process(frame, timestamp, planned)
                result.timings["decode"] = decode
                result.detection_running = any(d is not None and not d.done() for *_, (_, d) in ahead)
                yield result
        finally:  # stopped early (max_seconds, an error): detections still queued are not needed
            for *_, (_, detection) in ahead:
                if detection is not None:
                    detection.cancel()
