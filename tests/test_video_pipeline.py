"""Video building blocks on real frames: MTCNN detection, FER-like crops, tracking, smoothing, sources."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.video.face_aligner import FaceCropper
from facial_emotion.video.face_detector import DetectedFace, FaceDetector
from facial_emotion.video.frame_source import FrameSource, VideoSourceError
from facial_emotion.video.pipeline import FrameResult
from facial_emotion.video.sinks import AnnotatedVideoWriter, format_stream_time, probability_panel_origin
from facial_emotion.video.tracker import EmotionSmoother, IouTracker

SHARED_VIDEOS = PROJECT_ROOT.parent / "shared" / "videos"
requires_shared_videos = pytest.mark.skipif(
    not SHARED_VIDEOS.is_dir(), reason=f"real face videos not found in {SHARED_VIDEOS}"
)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(max_side=320)


@pytest.fixture(scope="module")
def face_frame() -> np.ndarray:
    """The first frame of a real talking-head video (480x480 BGR)."""
    if not SHARED_VIDEOS.is_dir():
        pytest.skip(f"real face videos not found in {SHARED_VIDEOS}")
    return next(iter(FrameSource(SHARED_VIDEOS / "liveportrait_d18.mp4")))[1]


def only_face(detector: FaceDetector, frame: np.ndarray) -> DetectedFace:
    faces = detector.detect(frame)
    assert len(faces) == 1
    return faces[0]


def test_detector_scales_boxes_back_to_frame_pixels(detector: FaceDetector, face_frame: np.ndarray) -> None:
    full = FaceDetector(max_side=10_000).detect(face_frame)[0]
    reduced = only_face(detector, face_frame)
    assert reduced.landmarks.shape == (5, 2)
    assert np.abs(reduced.box - full.box).max() < 0.05 * (full.box[2] - full.box[0])


def test_crop_is_48x48_grayscale_uint8(detector: FaceDetector, face_frame: np.ndarray) -> None:
    crop = FaceCropper().crop(face_frame, only_face(detector, face_frame))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert crop.std() > 10  # a face, not a flat patch


def test_crop_follows_the_face(detector: FaceDetector, face_frame: np.ndarray) -> None:
    """Moving the face inside a bigger frame gives the same crop: the crop is centred on the face."""
    cropper = FaceCropper()
    reference = cropper.crop(face_frame, only_face(detector, face_frame))
    moved = cv2.copyMakeBorder(face_frame, 90, 10, 150, 30, cv2.BORDER_REPLICATE)
    crop = cropper.crop(moved, only_face(detector, moved))
    assert np.abs(crop.astype(int) - reference).mean() < 8


def test_crop_levels_the_eyes(detector: FaceDetector, face_frame: np.ndarray) -> None:
    """A face tilted by 15 degrees crops like the upright face; without the landmarks' angle it would not."""
    cropper = FaceCropper(margin=0.1, center_shift=0.0)  # a tight crop: rotation errors show most
    upright = cropper.crop(face_frame, only_face(detector, face_frame))
    height, width = face_frame.shape[:2]
    tilt = cv2.getRotationMatrix2D((width / 2, height / 2), 15, 1.0)
    tilted_frame = cv2.warpAffine(face_frame, tilt, (width, height), borderMode=cv2.BORDER_REPLICATE)
    tilted = only_face(detector, tilted_frame)
    aligned = cropper.crop(tilted_frame, tilted)
    level_eyes = tilted.landmarks.copy()
    level_eyes[1, 1] = level_eyes[0, 1]
    unaligned = cropper.crop(tilted_frame, DetectedFace(tilted.box, tilted.score, level_eyes))
    aligned_error = np.abs(aligned.astype(int) - upright).mean()
    assert aligned_error < 12
    assert aligned_error < 0.7 * np.abs(unaligned.astype(int) - upright).mean()


def scripted_face(x: float, y: float, side: float = 100) -> DetectedFace:
    landmarks = np.array([[x + 30, y + 40], [x + 70, y + 40], [x + 50, y + 60], [x + 35, y + 80], [x + 65, y + 80]])
    return DetectedFace(np.array([x, y, x + side, y + side], dtype=np.float32), 0.99, landmarks.astype(np.float32))


def test_tracker_keeps_ids_of_moving_faces_and_drops_lost_ones() -> None:
    tracker = IouTracker(iou_threshold=0.3, max_missed=2)
    first = tracker.update([scripted_face(0, 0), scripted_face(300, 0)])
    ids = [track.track_id for track in first]
    assert len(set(ids)) == 2
    for step in range(1, 6):  # both move 8 px per update, listed in the opposite order
        tracks = tracker.update([scripted_face(300 - 8 * step, 4 * step), scripted_face(8 * step, 0)])
        assert [track.track_id for track in tracks] == ids[::-1]
    # The first face leaves; a new face appears far away and gets a new id.
    tracks = tracker.update([scripted_face(300 - 48, 24), scripted_face(0, 300)])
    assert tracks[0].track_id == ids[1] and tracks[1].track_id not in ids
    for _ in range(2):
        tracker.update([scripted_face(300 - 48, 24)])
    assert ids[0] not in {track.track_id for track in tracker.tracks}


def test_tracker_predicts_motion_between_detections() -> None:
    tracker = IouTracker()
    for step in range(4):
        tracker.update([scripted_face(10 * step, 0)])
    (track,) = tracker.predict()
    assert track.box[0] > 30  # moved on from the last detection at x=30


def test_tracked_boxes_keep_up_with_a_face_moving_steadily_between_detections() -> None:
    """Detections every 3rd frame of a face moving 10 px a frame: the frames between them are predicted where the
    face is (the velocity was measured from where `predict` had moved the box, and by the frames between: the boxes
    lagged 2.5-5 px behind). Without the still-head allowance, so exactly."""
    tracker, errors = IouTracker(still_speed=0.0), []
    for frame in range(30):
        if frame % 3 == 0:
            tracker.update([scripted_face(10 * frame, 0)])
        else:
            (track,) = tracker.predict()
            errors.append(float(track.box[0]) - 10 * frame)
    np.testing.assert_allclose(tracker.tracks[0].velocity, [10, 0], atol=0.05)
    assert max(abs(error) for error in errors[-6:]) < 0.2


def test_a_head_held_still_is_not_moved_by_its_jitter_and_a_moving_one_is_followed() -> None:
    """Detections of a still 100 px face that jitter by 1 px leave its boxes where they were (following the jitter
    misplaced them on the shared videos); a face moving 10 px a frame is followed to within `still_speed` (1 px a
    frame)."""
    still, moving = IouTracker(still_speed=0.01), IouTracker(still_speed=0.01)
    jitter = [0, 1, -1, 1, 0, -1, 1, 0, -1, 0]
    for frame in range(30):
        if frame % 3 == 0:
            still.update([scripted_face(200 + jitter[frame // 3], 0)])
            moving.update([scripted_face(10 * frame, 0)])
            continue
        (held,) = still.predict()
        (followed,) = moving.predict()
        assert held.box[0] == 200 + jitter[frame // 3]
        # once its velocity has settled: 1 px a frame behind, for 2 frames at most (held still: 20 px)
        assert frame < 18 or abs(float(followed.box[0]) - 10 * frame) <= 2.5


def test_a_detection_that_finished_frames_after_its_frame_is_moved_on_to_now() -> None:
    """The worker thread's detection of frame d reaches the tracker at frame d + 2, when the next one starts: the
    face (10 px a frame) is matched where its track was at frame d and placed where it is now, not 20 px behind."""
    tracker, errors, detected_at = IouTracker(still_speed=0.0), [], None
    for frame in range(40):
        if detected_at is not None and frame - detected_at == 2:
            (track,) = tracker.update([scripted_face(10 * detected_at, 0)], frames_ago=frame - detected_at)
            detected_at = frame
        else:
            if detected_at is None:
                tracker.update([scripted_face(0, 0)])
                detected_at = frame
                continue
            (track,) = tracker.predict()
        errors.append(float(track.box[0]) - 10 * frame)
    assert len(tracker.tracks) == 1 and tracker.tracks[0].track_id == 1
    np.testing.assert_allclose(tracker.tracks[0].velocity, [10, 0], atol=0.05)
    assert max(abs(error) for error in errors[-10:]) < 0.5


class ScriptedDetector:
    """A detector that finds the faces it is given, one list per call."""

    def __init__(self, *detections: list[DetectedFace]) -> None:
        self.detections = list(detections)

    def detect(self, frame: np.ndarray, **kwargs: object) -> list[DetectedFace]:
        return self.detections.pop(0)


class RecordingPredictor:
    """Keeps the crops it is given; its probabilities come from their mean, so they follow the pixels."""

    class_names = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
    backend = "torch"

    def __init__(self) -> None:
        self.crops: list[np.ndarray] = []

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        self.crops.append(crops.copy())
        logits = np.outer(crops.reshape(len(crops), -1).mean(axis=1) / 255, np.arange(7)).astype(np.float32)
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_video_boxes_are_reported_clipped_to_the_frame_and_faces_cropped_unclipped(tmp_path: Path) -> None:
    """A face cut by the frame's left edge, then tracked on past it: every box reported (FaceEmotion, log, timeline,
    the app's live JSON) lies in the frame, the face wholly past the edge keeps a zero-width box on it, and the
    model reads the crops of the unclipped boxes."""
    from facial_emotion.api.timeline import TimelineRecorder
    from facial_emotion.app.live import faces_json
    from facial_emotion.video.pipeline import EmotionPipeline, clip_box
    from facial_emotion.video.sinks import PredictionLog, draw_faces

    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (160, 200, 3), dtype=np.uint8), (5, 5), 0)
    first, second = scripted_face(-5, 40, side=40), scripted_face(-30, 40, side=40)
    # the tracker's velocity: -25 px over the 2 frames from one detection to the next
    past_edge = second.shifted(np.array([-12.5, 0], dtype=np.float32))

    def pipeline(*detections: list[DetectedFace]) -> tuple[EmotionPipeline, RecordingPredictor]:
        predictor = RecordingPredictor()
        tracker = IouTracker(iou_threshold=0.01, velocity_decay=0.0, still_speed=0.0)
        detector = ScriptedDetector(*detections)
        options = {"async_detection": False, "lookahead_detection": False, "full_detection_every": 1}
        pipe = EmotionPipeline(detector, FaceCropper(), tracker, predictor, EmotionSmoother(1.0), 2, **options)
        return pipe, predictor

    pipe, predictor = pipeline([first], [second])
    results = [pipe.process(frame, index / 10) for index in range(4)]  # detected, tracked, detected, tracked
    assert [len(result.faces) for result in results] == [1, 1, 1, 1]
    assert len({result.faces[0].track_id for result in results}) == 1
    np.testing.assert_array_equal(results[0].faces[0].box, [0, 40, 35, 80])
    np.testing.assert_array_equal(results[3].faces[0].box, [0, 40, 0, 80])  # wholly past the edge: on it
    for index, face in ((0, first), (2, second), (3, past_edge)):
        np.testing.assert_array_equal(predictor.crops[index], FaceCropper().crop_all(frame, [face]))
        np.testing.assert_array_equal(results[index].faces[0].box, clip_box(face.box, frame.shape))
    clipped = DetectedFace(results[0].faces[0].box, 0.99, first.landmarks)
    assert not np.array_equal(predictor.crops[0], FaceCropper().crop_all(frame, [clipped]))

    names = RecordingPredictor.class_names
    log, timeline = PredictionLog(tmp_path / "faces.csv", names), TimelineRecorder(names, every=0)
    for result in results:
        log.write(result)
        timeline.write(result)
        assert draw_faces(result.frame, result.faces, names).shape == frame.shape
    log.close()
    for table in (pd.read_csv(tmp_path / "faces.csv"), timeline.to_dataframe()):
        assert len(table) == 4 and (table[["x", "y", "w", "h"]] >= 0).all().all()
        assert ((table["x"] + table["w"]) <= 200).all() and ((table["y"] + table["h"]) <= 160).all()
    live, _ = pipeline([first])
    [answer] = faces_json(live, frame, 0.0)
    assert answer["box"] == [0.0, 40.0, 35.0, 40.0]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_the_log_rounds_box_corners_so_x_plus_w_is_the_rounded_right_edge(tmp_path: Path, suffix: str) -> None:
    """x, y, w, h to one decimal from the rounded corners: x + w and y + h (in decimal, as written) are the box's
    right and bottom edges rounded, never past them or the image; x and w rounded apart reached 639.6 for a box
    ending at 639.5."""
    import csv
    import json
    from decimal import Decimal

    from facial_emotion.video.pipeline import FaceEmotion, clip_box
    from facial_emotion.video.sinks import PredictionLog

    names = RecordingPredictor.class_names
    shape = (480, 640, 3)
    boxes = [[10.75, 20.25, 639.5, 100.75], [0.05, 0.15, 640, 480], [0.3, 0.35, 0.7, 479.96], [612.34, 5.67, 700, 9e3]]
    probabilities = np.full(len(names), 1 / len(names), dtype=np.float32)
    faces = [FaceEmotion(i, clip_box(np.array(b), shape), probabilities, names[0]) for i, b in enumerate(boxes, 1)]
    path = tmp_path / f"faces{suffix}"
    log = PredictionLog(path, names)
    log.write_faces(0.0, faces)
    log.close()
    if suffix == ".csv":
        with path.open(newline="") as handle:
            written = [[row[c] for c in "xywh"] for row in csv.DictReader(handle)]
    else:
        written = [[repr(v) for v in json.loads(line)["box"]] for line in path.read_text().splitlines()]
    assert written[0] == ["10.8", "20.2", "628.7", "80.6"]  # not w 628.8: x + w 639.6
    for face, (x, y, w, h) in zip(faces, (map(Decimal, row) for row in written), strict=True):
        right, bottom = (Decimal(repr(round(float(v), 1))) for v in face.box[2:])
        assert (x + w, y + h) == (right, bottom) and right <= 640 and bottom <= 480 and min(x, y, w, h) >= 0


def test_clip_box_keeps_boxes_inside_and_puts_those_wholly_outside_on_the_nearest_edge() -> None:
    from facial_emotion.video.pipeline import clip_box

    shape = (100, 200, 3)  # 200 px wide, 100 tall
    np.testing.assert_array_equal(clip_box(np.array([10, 20, 50, 60]), shape), [10, 20, 50, 60])
    np.testing.assert_array_equal(clip_box(np.array([-3.7, -51.1, 155.5, 169.3]), shape), [0, 0, 155.5, 100])
    np.testing.assert_array_equal(clip_box(np.array([-20, -30, 230, 140]), shape), [0, 0, 200, 100])
    np.testing.assert_array_equal(clip_box(np.array([210, 10, 260, 50]), shape), [200, 10, 200, 50])
    np.testing.assert_array_equal(clip_box(np.array([-60, -90, -10, -40]), shape), [0, 0, 0, 0])
    assert clip_box(np.array([1, 2, 3, 4], dtype=np.float64), shape).dtype == np.float32


def test_smoother_averages_towards_new_probabilities() -> None:
    smoother = EmotionSmoother(alpha=0.5)
    first = smoother.smooth(None, np.array([1.0, 0.0]))
    assert np.allclose(smoother.smooth(first, np.array([0.0, 1.0])), [0.5, 0.5])


def test_stream_time_format() -> None:
    assert format_stream_time(3.7) == "00:00:03s"
    assert format_stream_time(3725) == "01:02:05s"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"this is a text file, not a video\n" * 50, "not a readable video"),
    ],
    ids=["missing", "empty", "text-renamed-mp4"],
)
def test_bad_video_files_raise_one_line_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(VideoSourceError, match=message) as error:
        FrameSource(path)
    assert "\n" not in str(error.value)


def test_unavailable_camera_raises() -> None:
    with pytest.raises(VideoSourceError, match="camera 99 could not be opened"):
        FrameSource(99)


@requires_shared_videos
def test_file_timestamps_are_positions_in_the_video() -> None:
    source = FrameSource(SHARED_VIDEOS / "videoretalking_face5.mp4", resize=(320, 240))
    stamps = []
    for timestamp, frame in source:
        assert frame.shape == (240, 320, 3)
        stamps.append(timestamp)
    assert stamps[0] == 0 and stamps[25] == pytest.approx(1.0) and len(stamps) == 122


@pytest.mark.parametrize(
    ("box", "expected_x"),
    [
        ((100, 50, 200), 206),  # room on the right
        ((420, 50, 600), 234),  # face at the right edge: panel left of it, not over it
        ((10, 50, 630), 460),  # face fills the frame: panel at the frame edge
    ],
)
def test_probability_panel_stays_off_the_face_and_in_the_frame(box: tuple[int, int, int], expected_x: int) -> None:
    x, y = probability_panel_origin(*box, panel_size=(180, 154), frame_size=(640, 480))
    assert x == expected_x and 0 <= y <= 480 - 154
    assert probability_panel_origin(100, 400, 200, (180, 154), (640, 480))[1] == 480 - 154


def test_saved_video_keeps_the_stream_clock_when_frames_were_skipped(tmp_path: Path) -> None:
    """A file's frames (i / fps) are written once each; a gap (a live source whose consumer fell behind) holds the
    frame before it, so the video lasts as long as the stream did."""
    writer = AnnotatedVideoWriter(tmp_path / "out.mp4", fps=25.0, class_names=["Happy"])
    for stamp, level in ((0.0, 40), (0.04, 80), (0.08, 120), (0.28, 200), (0.32, 240)):
        writer.write(FrameResult(stamp, np.full((64, 80, 3), level, np.uint8), [], detected=False))
    writer.close()
    capture = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    levels = []
    while (frame := capture.read()[1]) is not None:
        levels.append(round(float(frame.mean()) / 40) * 40)
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    assert levels == [40, 80, 120, 120, 120, 120, 120, 200, 240] and writer.frames_written == 9
