"""The detector thread on real frames with real MTCNN: no frame lost, order kept, same tracks as inline."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.vgg import VGGNet
from facial_emotion.video.async_detector import AsyncFaceDetector
from facial_emotion.video.face_aligner import FaceCropper
from facial_emotion.video.face_detector import FaceDetector
from facial_emotion.video.frame_source import FrameSource
from facial_emotion.video.pipeline import EmotionPipeline, FrameResult
from facial_emotion.video.torch_threads import OneTorchThread
from facial_emotion.video.tracker import EmotionSmoother, IouTracker

VIDEO = PROJECT_ROOT.parent / "shared" / "videos" / "liveportrait_d18.mp4"
pytestmark = pytest.mark.skipif(not VIDEO.is_file(), reason=f"real face video not found: {VIDEO}")


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> EmotionPredictor:
    path = tmp_path_factory.mktemp("model") / "tiny.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="center"), path)
    return EmotionPredictor(path, bf16=False)


@pytest.fixture(scope="module")
def frames() -> list[tuple[float, np.ndarray]]:
    return list(itertools.islice(FrameSource(VIDEO), 16))


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(min_face_size=30, max_side=320)


def pipeline(
    detector: FaceDetector,
    predictor: EmotionPredictor,
    async_detection: bool,
    lookahead: bool = True,
    full_detection_every: int = 4,
    stable_detect_every: int = 0,
) -> EmotionPipeline:
    return EmotionPipeline(
        detector,
        FaceCropper(),
        IouTracker(max_missed=2),
        predictor,
        EmotionSmoother(0.4),
        detect_every=2,
        async_detection=async_detection,
        lookahead_detection=lookahead,
        full_detection_every=full_detection_every,
        stable_detect_every=stable_detect_every,
    )


def run(pipe: EmotionPipeline, frames: list[tuple[float, np.ndarray]]) -> list[FrameResult]:
    try:
        return list(pipe.run(frames))
    finally:
        pipe.close()


def test_async_detection_loses_no_frame_and_keeps_order(
    detector: FaceDetector, predictor: EmotionPredictor, frames: list[tuple[float, np.ndarray]]
) -> None:
    results = run(pipeline(detector, predictor, async_detection=True), frames)
    assert [r.timestamp for r in results] == [t for t, _ in frames]
    assert all(r.frame is f for r, (_, f) in zip(results, frames, strict=True))
    assert all(len(r.faces) == 1 for r in results)  # the face is classified on every frame, detected or not
    assert results[0].detected  # the first frame waits for its detection; later ones do not
    assert any(r.detection_running for r in results)  # frames were classified while MTCNN ran


def test_async_detection_gives_the_inline_tracks_on_a_still_scene(
    detector: FaceDetector, predictor: EmotionPredictor, frames: list[tuple[float, np.ndarray]]
) -> None:
    still = [(index / 30, frames[0][1]) for index in range(12)]
    # Every detection at full size: which detections are sized from earlier faces differs between the two.
    inline = run(pipeline(detector, predictor, async_detection=False, full_detection_every=1), still)
    threaded = run(pipeline(detector, predictor, async_detection=True, full_detection_every=1), still)
    for a, b in zip(inline, threaded, strict=True):
        assert [f.track_id for f in a.faces] == [f.track_id for f in b.faces] == [1]
        assert np.allclose(a.faces[0].box, b.faces[0].box, atol=1e-3)
        assert np.allclose(a.faces[0].probabilities, b.faces[0].probabilities, atol=1e-5)


def test_async_detector_returns_what_the_detector_finds_and_reraises_its_errors(
    detector: FaceDetector, frames: list[tuple[float, np.ndarray]]
) -> None:
    worker = AsyncFaceDetector(detector)
    try:
        worker.submit(frames[3][1], 3)
        with pytest.raises(RuntimeError, match="already in flight"):
            worker.submit(frames[4][1], 4)
        index, faces = worker.collect(wait=True)
        expected = detector.detect(frames[3][1])
        assert index == 3 and np.allclose(faces[0].box, expected[0].box)
        assert worker.collect() is None and not worker.busy
        worker.submit(np.zeros((4,), dtype=np.uint8), 5)
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever MTCNN raises reaches the caller
            worker.collect(wait=True)
    finally:
        worker.close()


def test_lookahead_detection_gives_the_inline_results_frame_for_frame(
    detector: FaceDetector, predictor: EmotionPredictor, frames: list[tuple[float, np.ndarray]]
) -> None:
    inline = run(pipeline(detector, predictor, async_detection=False, lookahead=False), frames)
    ahead = run(pipeline(detector, predictor, async_detection=False, lookahead=True), frames)
    assert [r.timestamp for r in ahead] == [t for t, _ in frames]
    assert [r.detected for r in ahead] == [r.detected for r in inline] == [i % 2 == 0 for i in range(len(frames))]
    for a, b in zip(inline, ahead, strict=True):
        assert np.array_equal(a.frame, b.frame)
        assert [f.track_id for f in a.faces] == [f.track_id for f in b.faces] == [1]
        assert np.array_equal(a.faces[0].box, b.faces[0].box)
        assert np.array_equal(a.faces[0].probabilities, b.faces[0].probabilities)


def test_lookahead_detection_stops_early_and_reraises_detector_errors(
    detector: FaceDetector, predictor: EmotionPredictor, frames: list[tuple[float, np.ndarray]]
) -> None:
    pipe = pipeline(detector, predictor, async_detection=False)
    try:
        stream = pipe.run(frames)
        first = [next(stream) for _ in range(3)]
        stream.close()  # frames decoded ahead and their queued detections are dropped
        assert [r.timestamp for r in first] == [t for t, _ in frames[:3]]
        pipe.reset()
        again = list(pipe.run(frames[:4]))  # the next stream starts from its own first frame
        assert [r.detected for r in again] == [True, False, True, False]
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever MTCNN raises reaches the caller
            list(pipe.run([(0.0, np.zeros((4,), dtype=np.uint8))]))
    finally:
        pipe.close()


def test_async_detection_detects_again_after_a_reset(
    detector: FaceDetector, predictor: EmotionPredictor, frames: list[tuple[float, np.ndarray]]
) -> None:
    def camera() -> Iterator[tuple[float, np.ndarray]]:  # frames at a camera's pace: detections can finish
        for frame in frames:
            time.sleep(0.04)
            yield frame

    pipe = pipeline(detector, predictor, async_detection=True)
    try:
        first = list(pipe.run(camera()))
        pipe.reset()
        second = list(pipe.run(camera()))  # the last stream's frame count must not hold detection back
    finally:
        pipe.close()
    assert sum(r.detected for r in first) >= 2 and sum(r.detected for r in second) >= 2


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_detection_sized_from_a_large_face_skips_fine_levels_and_finds_the_same_face(
    detector: FaceDetector, frames: list[tuple[float, np.ndarray]]
) -> None:
    frame = frames[0][1]
    full = detector.detect(frame)
    size = detector.min_face_size_for(full, frame.shape)
    side = min(full[0].box[2:] - full[0].box[:2]) * detector.detection_scale(frame.shape)
    assert detector.min_face_size < size <= side / 2  # a coarser pyramid, still able to find a face half as big
    assert detector.min_face_size_for([], frame.shape) == detector.min_face_size
    coarse = detector.detect(frame, min_face_size=size)
    assert len(coarse) == len(full) == 1 and iou(coarse[0].box, full[0].box) > 0.9


def test_sized_detections_follow_the_schedule_in_every_mode(
    detector: FaceDetector, predictor: EmotionPredictor, frames: list[tuple[float, np.ndarray]]
) -> None:
    calls: list[int | None] = []
    original = detector.detect

    def recording(frame: np.ndarray, min_face_size: int | None = None) -> list:
        calls.append(min_face_size)
        return original(frame, min_face_size=min_face_size)

    detector.detect = recording
    try:
        run(pipeline(detector, predictor, async_detection=False, lookahead=False), frames)
        inline, calls[:] = list(calls), []
        run(pipeline(detector, predictor, async_detection=False, lookahead=True), frames)
    finally:
        del detector.detect
    # 16 frames, a detection every 2nd: full at detections 0, 1, 2 (nothing three back yet) and 4; sized otherwise
    assert [size is None for size in inline] == [True, True, True, False, True, False, False, False]
    assert calls == inline


def test_a_stable_scene_thins_out_detections_identically_inline_and_ahead(
    detector: FaceDetector, predictor: EmotionPredictor, frames: list[tuple[float, np.ndarray]]
) -> None:
    clip = frames + frames[::-1] + frames  # 48 frames of one talking head
    every_second = run(pipeline(detector, predictor, async_detection=False), clip)
    inline = run(pipeline(detector, predictor, async_detection=False, lookahead=False, stable_detect_every=6), clip)
    ahead = run(pipeline(detector, predictor, async_detection=False, stable_detect_every=6), clip)
    detected = [i for i, r in enumerate(inline) if r.detected]
    assert [i for i, r in enumerate(ahead) if r.detected] == detected
    assert detected[:5] == [0, 2, 4, 6, 8]  # not enough is known three periods back yet
    assert len(detected) < sum(r.detected for r in every_second) == 24
    gaps = [b - a for a, b in zip(detected, detected[1:], strict=False)]
    assert max(gaps) == 6  # never longer than stable_detect_every
    for a, b in zip(inline, ahead, strict=True):
        assert [f.track_id for f in a.faces] == [f.track_id for f in b.faces] == [1]
        assert np.array_equal(a.faces[0].probabilities, b.faces[0].probabilities)


def test_overlapping_one_thread_holds_restore_the_count_after_the_last() -> None:
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    before = torch.get_num_threads()
    holds = OneTorchThread()
    first, second = holds.hold(), holds.hold()
    first.__enter__()
    second.__enter__()  # a second look-ahead run starting while the first runs: it must not save 1
    first.__exit__(None, None, None)
    assert torch.get_num_threads() == 1  # the second run still holds it
    second.__exit__(None, None, None)
    after = torch.get_num_threads()
    torch.set_num_threads(original)
    assert before == 2 and after == before
