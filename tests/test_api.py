"""The Python API on real photos and videos: real MTCNN, the committed model, results read back."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from facial_emotion.api import (
    EmotionRecognizer,
    FaceResult,
    ImageInputError,
    ModelFileError,
    VideoInputError,
    images,
    plot_timeline,
    to_dataframe,
)
from facial_emotion.api.settings import CONFIG_DIR, compose_settings
from facial_emotion.core.early_exit import parse_early_exit
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks.predict_image import run as run_predict_image
from facial_emotion.video.frame_source import FrameSource
from facial_emotion.video.pipeline import classify_faces
from tests.app_support import piped_webm, png_stating_size
from tests.conftest import unused_port

SHARED = PROJECT_ROOT.parent / "shared"
HAPPY_PHOTO = SHARED / "faces" / "nimstim" / "Happy" / "01F_HA_C.jpg"
SAD_PHOTO = next(iter(sorted((SHARED / "faces" / "penn_er40" / "Sad").glob("*"))), None)
# A 143x181 film still the face fills: the photo detector (on a padded copy) boxes it past the top and the sides.
EDGE_PHOTO = SHARED / "faces" / "sfew_train" / "Happy" / "50_50_001805320_00000009.png"
VIDEO = SHARED / "videos" / "videoretalking_face5.mp4"  # 25 fps, one face
CLIP_FRAMES = 30  # 1.2 s

pytestmark = pytest.mark.skipif(
    not (HAPPY_PHOTO.is_file() and VIDEO.is_file()), reason=f"real photos/videos not found under {SHARED}"
)


def cut_clip(source: Path, target: Path, frames: int) -> Path:
    """The first `frames` frames of `source` re-encoded to `target` (mp4v) at its frame rate."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(frames):
        ok, frame = capture.read()
        assert ok, f"{source} has fewer than {frames} frames"
        if writer is None:
            size = (frame.shape[1], frame.shape[0])
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        writer.write(frame)
    writer.release()
    capture.release()
    return target


@pytest.fixture(scope="module")
def recognizer() -> EmotionRecognizer:
    return EmotionRecognizer()


@pytest.fixture(scope="module")
def happy(recognizer: EmotionRecognizer) -> list[FaceResult]:
    return recognizer.analyze(HAPPY_PHOTO)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cut_clip(VIDEO, tmp_path_factory.mktemp("clip") / "clip.mp4", CLIP_FRAMES)


@pytest.fixture(scope="module")
def every_frame(recognizer: EmotionRecognizer, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    annotated = tmp_path_factory.mktemp("annotated") / "annotated.mp4"
    return recognizer.analyze_video(clip, every=0, progress=False, save_video=annotated), annotated


def assert_same_faces(a: list[FaceResult], b: list[FaceResult], atol: float = 1e-6) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.label == y.label
        np.testing.assert_allclose(x.box, y.box, atol=atol * 1000)
        np.testing.assert_allclose(list(x.probabilities.values()), list(y.probabilities.values()), atol=atol)


def test_settings_are_the_scripts_configs(recognizer: EmotionRecognizer) -> None:
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        live, photos = compose(config_name="predict_live_stream"), compose(config_name="predict_image")
    assert recognizer.video_settings == live and recognizer.photo_settings == photos
    assert recognizer.video_pipeline.predictor.model_path == Path(live.model_path)
    video = recognizer.video_pipeline.predictor
    assert live.tta == "live" and video.tta == video.model.preprocessing.live_view  # the file's own live view
    assert recognizer.video_pipeline.detect_every == live.face_pipeline.detect_every


def test_photos_take_the_files_early_exit_as_predict_image_does(recognizer: EmotionRecognizer) -> None:
    photos = recognizer._photos.predictor
    assert photos.early_exit == parse_early_exit(photos.model.preprocessing.early_exit) != ()
    assert recognizer.video_pipeline.predictor.early_exit == ()  # the live view is one view
    every_view = EmotionRecognizer(overrides=["early_exit=none"])
    assert every_view._photos.predictor.early_exit == ()
    assert every_view.analyze(HAPPY_PHOTO)[0].label == recognizer.analyze(HAPPY_PHOTO)[0].label


def test_settings_compose_inside_a_running_hydra_app() -> None:
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR), job_name="outer_app"):
        outer = GlobalHydra.instance().hydra
        cfg = compose_settings("predict_live_stream", ["face_pipeline.detect_every=1"])
        assert GlobalHydra.instance().hydra is outer  # the app's own Hydra is back
        assert compose(config_name="analyze_videos", return_hydra_config=True).hydra.job.name == "outer_app"
    assert cfg.face_pipeline.detect_every == 1


def test_a_photo_gives_one_face_with_box_label_probabilities_and_landmarks(happy: list[FaceResult]) -> None:
    image = cv2.imread(str(HAPPY_PHOTO))
    assert len(happy) == 1
    face = happy[0]
    x, y, w, h = face.box
    assert 0 <= x < x + w <= image.shape[1] and 0 <= y < y + h <= image.shape[0]
    assert 0.2 * image.shape[1] < w < image.shape[1]  # a studio portrait: the face is a good part of it
    assert list(face.probabilities) == ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.label == max(face.probabilities, key=face.probabilities.get) == "Happy"
    assert face.probability == face.probabilities["Happy"]
    (left_eye, right_eye, nose, mouth_left, mouth_right) = face.landmarks
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in face.landmarks)
    assert left_eye[0] < right_eye[0] and left_eye[1] < nose[1] < mouth_left[1]


def test_path_array_and_pil_image_give_the_same_result(recognizer: EmotionRecognizer, happy: list) -> None:
    bgr = cv2.imread(str(HAPPY_PHOTO))
    pil = Image.fromarray(bgr[:, :, ::-1].copy())
    by_array, by_pil, by_str = recognizer.analyze_batch([bgr, pil, str(HAPPY_PHOTO)])
    assert_same_faces(by_array, happy)
    assert_same_faces(by_pil, happy)
    assert_same_faces(by_str, happy)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)  # grayscale arrays and PIL "L" images are accepted too
    assert_same_faces(recognizer.analyze(gray), recognizer.analyze(Image.fromarray(gray)))


class PhotoHandler(SimpleHTTPRequestHandler):
    """Serves files quietly and remembers the Authorization header of each request."""

    authorizations: list[str | None] = []

    def do_GET(self) -> None:
        self.authorizations.append(self.headers.get("Authorization"))
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def photo_server() -> Iterator[str]:
    """A real local HTTP server over the nimstim folder; its base URL."""
    handler = partial(PhotoHandler, directory=str(HAPPY_PHOTO.parents[1]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_url_bytes_and_a_data_uri_give_the_same_result(
    recognizer: EmotionRecognizer, happy: list, photo_server: str
) -> None:
    data = HAPPY_PHOTO.read_bytes()
    data_uri = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    wrapped = "data:image/jpeg;base64," + base64.encodebytes(data).decode()  # 76 characters a line
    url_safe = "data:image/jpeg;base64," + base64.urlsafe_b64encode(data).decode()
    url = f"{photo_server}/Happy/{HAPPY_PHOTO.name}"
    with_login = url.replace("http://", "http://user:p%40ss@")  # sent as Basic auth, not taken for the host
    PhotoHandler.authorizations.clear()
    images = [url, with_login, data, bytearray(data), data_uri, wrapped, url_safe]
    for faces in recognizer.analyze_batch(images):
        assert_same_faces(faces, happy)
    assert PhotoHandler.authorizations == [None, "Basic " + base64.b64encode(b"user:p@ss").decode()]


def predict_image_script(*overrides: str) -> subprocess.CompletedProcess:
    """`python scripts/predict_image.py overrides...` as a user runs it."""
    script = [sys.executable, "scripts/predict_image.py", *overrides]
    return subprocess.run(script, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_predict_image_script_takes_a_url_as_the_api_does(happy: list, photo_server: str, tmp_path: Path) -> None:
    url = f"{photo_server}/Happy/{HAPPY_PHOTO.name}".replace("http://", "http://user:secret@")
    log, copies = tmp_path / "faces.csv", tmp_path / "annotated"
    result = predict_image_script(f"path={url}", f"log={log}", f"save_dir={copies}")
    assert result.returncode == 0, result.stderr
    shown = url.replace("user:secret@", "***@")
    assert result.stdout.splitlines()[-1].startswith(f"{shown} : {happy[0].label} , ")
    row = pd.read_csv(log).iloc[0]
    assert row["file"] == shown and "secret" not in log.read_text()
    for name, probability in happy[0].probabilities.items():
        assert row[name] == pytest.approx(probability, abs=1e-4)
    assert cv2.imread(str(copies / HAPPY_PHOTO.name)).shape == cv2.imread(str(HAPPY_PHOTO)).shape
    missing = predict_image_script(f"path={photo_server}/Happy/missing.jpg")
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: {photo_server}/Happy/missing.jpg: the server answered 404 File not found"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("{server}/Happy/missing.jpg", r"^{server}/Happy/missing.jpg: the server answered 404 "),
        ("http://127.0.0.1:{closed}/x.jpg", r"^http://127.0.0.1:{closed}/x.jpg: cannot download \("),
        (b"plain text, not a JPEG", "^image 0: not a readable image"),
        ("data:image/png;base64,@@@", "^data URI 0: the data URI is not valid base64"),
        ("data:image/png,rawbytes", "^data URI 0: a data URI must be base64-encoded"),
    ],
    ids=["404", "refused", "text-bytes", "bad-base64", "not-base64"],
)
def test_bad_urls_bytes_and_data_uris_raise_input_errors_naming_them(
    recognizer: EmotionRecognizer, photo_server: str, image: str | bytes, message: str
) -> None:
    if isinstance(image, str):
        for key, value in (("{server}", photo_server), ("{closed}", str(unused_port()))):
            image, message = image.replace(key, value), message.replace(key, value)
    with pytest.raises(ImageInputError, match=message):
        recognizer.analyze_batch([image])


class TricklingHandler(SimpleHTTPRequestHandler):
    """Answers 200 with a JPEG's first bytes, one every 0.1 s: a server that never stalls long enough to time out."""

    def do_GET(self) -> None:
        data = HAPPY_PHOTO.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up
            for byte in data[:100]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)

    def log_message(self, *args: object) -> None:
        pass


def test_a_download_that_trickles_stops_at_the_time_limit(
    recognizer: EmotionRecognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "DOWNLOAD_TIMEOUT_S", 1)
    server = ThreadingHTTPServer(("127.0.0.1", 0), TricklingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slow.jpg"
    started = time.monotonic()
    try:
        with pytest.raises(ImageInputError, match=f"^{url}: the download took over 1 s$"):
            recognizer.analyze(url)
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - started < 3  # 10 s for the whole body, unlimited for a slower server


def test_boxes_are_in_image_pixels(recognizer: EmotionRecognizer, happy: list[FaceResult]) -> None:
    image = cv2.imread(str(HAPPY_PHOTO))
    top, left = 10, 90  # the longer side stays under the detector's 640 px: the same detection scale
    padded = cv2.copyMakeBorder(image, top, 0, left, 0, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    [moved] = recognizer.analyze(padded)
    size = max(happy[0].box[2:])
    # MTCNN is not exactly shift-invariant (its image pyramid and box regression): a few % of the face.
    np.testing.assert_allclose(np.array(moved.landmarks) - (left, top), happy[0].landmarks, atol=0.03 * size)
    np.testing.assert_allclose(centre(moved) - (left, top), centre(happy[0]), atol=0.05 * size)
    np.testing.assert_allclose(moved.box[2:], happy[0].box[2:], rtol=0.1)
    # Twice the size: the detector sees it downscaled to 640 px, the boxes still come in this image's pixels.
    [doubled] = recognizer.analyze(cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR))
    np.testing.assert_allclose(np.array(doubled.landmarks) / 2, happy[0].landmarks, atol=0.03 * size)
    np.testing.assert_allclose(np.array(doubled.box) / 2, happy[0].box, atol=0.05 * size)


def centre(face: FaceResult) -> np.ndarray:
    x, y, w, h = face.box
    return np.array([x + w / 2, y + h / 2])


def assert_inside(box: Sequence[float], image: np.ndarray) -> None:
    x, y, w, h = box
    assert 0 <= x <= x + w <= image.shape[1] and 0 <= y <= y + h <= image.shape[0], (box, image.shape[:2])


def assert_logged_box(logged: Sequence[float], box: Sequence[float]) -> None:
    """The log's x, y, w, h are `box` (x, y, w, h) with its corners rounded to 0.1: each corner within 0.05 (w and
    h alone within 0.1)."""
    (x, y, w, h), (bx, by, bw, bh) = logged, box
    np.testing.assert_allclose([x, y, x + w, y + h], [bx, by, bx + bw, by + bh], atol=0.06)


@pytest.mark.skipif(not EDGE_PHOTO.is_file(), reason=f"sfew_train photo not found: {EDGE_PHOTO}")
def test_a_face_past_the_photos_edge_is_reported_clipped_and_classified_unclipped(
    recognizer: EmotionRecognizer, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The box reported (API, predict_image's log) is the detector's box clipped to the photo; the probabilities
    are those of the crop of the unclipped box, as before boxes were clipped."""
    image = cv2.imread(str(EDGE_PHOTO))
    photos = recognizer._photos
    [detected] = photos.detector.detect(image)
    x1, y1, x2, y2 = (float(v) for v in detected.box)
    height, width = image.shape[:2]
    assert x1 < 0 and y1 < 0 and x2 > width  # the premise: the detector's box reaches past the edges
    unclipped = classify_faces(image, [detected], photos.cropper, photos.predictor)[0]
    [face] = recognizer.analyze(EDGE_PHOTO)
    assert_inside(face.box, image)
    assert face.box == pytest.approx((0, 0, width, min(y2, height)), abs=1e-4)
    np.testing.assert_allclose(list(face.probabilities.values()), unclipped, atol=1e-6)
    np.testing.assert_allclose(face.landmarks, detected.landmarks, atol=1e-4)
    log = tmp_path / "faces.csv"
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(config_name="predict_image", overrides=[f"path={EDGE_PHOTO}", f"log={log}"])
    run_predict_image(cfg)
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"{EDGE_PHOTO.name} : {face.label} , ")
    rows = pd.read_csv(log)
    assert list(rows.columns) == ["file", "face", "x", "y", "w", "h", *recognizer.class_names, "emotion"]
    assert len(rows) == 1 and rows.loc[0, "face"] == 1 and rows.loc[0, "emotion"] == face.label
    assert_inside(rows.loc[0, ["x", "y", "w", "h"]].astype(float), image)
    assert_logged_box(rows.loc[0, ["x", "y", "w", "h"]].astype(float), face.box)
    np.testing.assert_allclose(rows.loc[0, recognizer.class_names].astype(float), unclipped, atol=1e-5)


@pytest.mark.skipif(SAD_PHOTO is None, reason="penn_er40 photos not found")
def test_several_faces_come_largest_first(recognizer: EmotionRecognizer) -> None:
    big = cv2.imread(str(HAPPY_PHOTO))
    small = cv2.resize(cv2.imread(str(SAD_PHOTO)), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    canvas = np.full((big.shape[0], small.shape[1] + big.shape[1], 3), 128, np.uint8)
    canvas[: small.shape[0], : small.shape[1]] = small  # the small face on the left, where detectors look first
    canvas[:, small.shape[1] :] = big
    faces = recognizer.analyze(canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].box[0] >= small.shape[1] > faces[1].box[0] + faces[1].box[2] / 2


def test_results_round_trip_through_plain_dicts_and_json(happy: list[FaceResult]) -> None:
    data = json.loads(json.dumps([face.to_dict() for face in happy]))
    assert [FaceResult.from_dict(item) for item in data] == happy
    assert set(data[0]) == {"box", "label", "probability", "probabilities", "landmarks", "whole_image"}
    assert data[0]["whole_image"] is False
    table = to_dataframe(happy)
    assert list(table.columns[:7]) == ["face", "x", "y", "w", "h", "label", "probability"]
    assert table.loc[0, "Happy"] == happy[0].probabilities["Happy"] and len(table) == 1


def test_an_image_without_a_face_gives_an_empty_list(recognizer: EmotionRecognizer) -> None:
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (9, 9), 0)
    assert recognizer.analyze(noise) == []
    assert recognizer.analyze(np.zeros((8, 8, 3), np.uint8)) == []  # smaller than any face the detector finds
    assert recognizer.analyze(np.zeros((2, 2000, 3), np.uint8)) == []  # a sliver (0 px tall once downscaled)
    assert recognizer.top_emotion(noise) == (None, None)
    empty = to_dataframe([])
    assert empty.empty and list(empty.columns) == list(to_dataframe(recognizer.analyze(HAPPY_PHOTO)).columns)


def test_whole_image_if_no_face_classifies_the_photo_and_says_so(recognizer: EmotionRecognizer, happy: list) -> None:
    """A photo without a detected face is read whole, flagged; a found face is unchanged."""
    blank = np.full((240, 320, 3), 128, np.uint8)
    (whole,) = recognizer.analyze(blank, whole_image_if_no_face=True)
    assert whole.whole_image and whole.landmarks is None
    assert whole.box == (0.0, 0.0, 320.0, 240.0)  # the centre square of the photo padded by 20% a side: all of it
    (tall,) = recognizer.analyze(np.full((300, 100, 3), 128, np.uint8), whole_image_if_no_face=True)
    assert tall.box == (0.0, 80.0, 100.0, 140.0)  # that square (-20..120 x 80..220) is narrower: the part inside
    assert sum(whole.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert FaceResult.from_dict(json.loads(json.dumps(whole.to_dict()))) == whole
    assert recognizer.top_emotion(blank, whole_image_if_no_face=True) == (whole.label, whole.probability)
    assert_same_faces(recognizer.analyze(HAPPY_PHOTO, whole_image_if_no_face=True), happy)
    assert not recognizer.analyze(HAPPY_PHOTO, whole_image_if_no_face=True)[0].whole_image


def test_analyze_batch_equals_one_analyze_per_image(recognizer: EmotionRecognizer, happy: list) -> None:
    images = [HAPPY_PHOTO, np.full((200, 200, 3), 90, np.uint8)]
    if SAD_PHOTO is not None:
        images.append(SAD_PHOTO)
    batch = recognizer.analyze_batch(images)
    assert len(batch) == len(images) and batch[1] == []
    for image, faces in zip(images, batch, strict=True):
        assert_same_faces(faces, recognizer.analyze(image), atol=1e-5)
    assert recognizer.top_emotion(HAPPY_PHOTO) == (happy[0].label, happy[0].probability)


@pytest.mark.slow
def test_analyze_matches_predict_image_script(recognizer: EmotionRecognizer, happy: list, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    result = subprocess.run(
        [sys.executable, "scripts/predict_image.py", f"path={HAPPY_PHOTO}", f"log={log}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    row = pd.read_csv(log).iloc[0]
    assert_logged_box(row[["x", "y", "w", "h"]].astype(float), happy[0].box)
    for name, probability in happy[0].probabilities.items():
        assert row[name] == pytest.approx(probability, abs=1e-5)
    assert row["emotion"] == happy[0].label


def test_video_rows_every_frame_with_columns_and_probabilities(every_frame: tuple) -> None:
    df, _ = every_frame
    assert list(df.columns) == [
        *("time", "frame", "face_id", "x", "y", "w", "h", "label", "probability"),
        *("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"),
    ]
    assert df.attrs["frames"] == CLIP_FRAMES and df.attrs["fps"] == pytest.approx(25.0)
    assert df.attrs["duration"] == pytest.approx(CLIP_FRAMES / 25.0)
    assert sorted(df["frame"].unique()) == list(range(CLIP_FRAMES))  # one talking face, found in every frame
    np.testing.assert_allclose(df["time"], df["frame"] / 25.0, atol=1e-3)
    emotions = df.iloc[:, 9:]
    np.testing.assert_allclose(emotions.sum(axis=1), 1.0, atol=1e-5)
    assert (df["label"] == emotions.idxmax(axis=1)).all()
    np.testing.assert_allclose(df["probability"], emotions.max(axis=1))
    assert (df["w"] > 100).all() and (df["x"] >= 0).all()


def test_videos_analysed_from_two_threads_at_once_get_their_own_tables(
    recognizer: EmotionRecognizer, every_frame: tuple, clip: Path
) -> None:
    expected, _ = every_frame
    with ThreadPoolExecutor(max_workers=2) as threads:
        runs = [threads.submit(recognizer.analyze_video, clip, every=0, progress=False) for _ in range(2)]
        tables = [run.result(timeout=300) for run in runs]
    for table in tables:  # sharing one tracker at the same time, each got the other's frames' tracks
        assert len(table) == len(expected)
        np.testing.assert_allclose(table[["x", "y", "w", "h"]], expected[["x", "y", "w", "h"]], atol=1e-3)
        np.testing.assert_allclose(table[recognizer.class_names], expected[recognizer.class_names], atol=1e-4)


def test_numpy_numbers_are_taken_for_every_and_max_seconds(recognizer: EmotionRecognizer, clip: Path) -> None:
    expected = recognizer.analyze_video(clip, every=0.5, progress=False, max_seconds=1)
    for every, max_seconds in ((np.float32(0.5), np.int64(1)), (np.float64(0.5), np.float32(1.0))):
        table = recognizer.analyze_video(clip, every=every, progress=False, max_seconds=max_seconds)  # were refused
        assert list(table["frame"]) == list(expected["frame"]) == [0, 13]


@pytest.mark.slow
@pytest.mark.parametrize(("every", "frames"), [(1.0, [0, 25]), (0.5, [0, 13, 25])])
def test_video_rows_per_every_seconds(
    recognizer: EmotionRecognizer, clip: Path, every_frame: tuple, every: float, frames: list[int]
) -> None:
    df = recognizer.analyze_video(clip, every=every, progress=False)
    assert sorted(df["frame"].unique()) == frames  # the first frame of each `every` seconds
    full, _ = every_frame  # the same pipeline from the start of the video: the very same rows
    expected = full[full["frame"].isin(frames)].reset_index(drop=True)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), expected)


def test_save_video_writes_every_annotated_frame(every_frame: tuple, clip: Path) -> None:
    _, annotated = every_frame
    capture = cv2.VideoCapture(str(annotated))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    source = cv2.VideoCapture(str(clip))
    first = source.read()[1]
    assert len(frames) == CLIP_FRAMES and frames[0].shape == first.shape
    assert np.abs(frames[0].astype(int) - first.astype(int)).max() > 100  # boxes and bars drawn on it


def test_plot_timeline_writes_a_png(every_frame: tuple, tmp_path: Path) -> None:
    df, _ = every_frame
    path = plot_timeline(df, tmp_path / "plots" / "timeline.png", title="clip")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(path))
    assert image.shape[1] > 600 and image.std() > 10
    empty = plot_timeline(df.iloc[:0], tmp_path / "empty.png")  # a video without a face: a PNG saying so
    assert cv2.imread(str(empty)) is not None


def test_plot_timeline_returns_the_file_it_wrote_and_refuses_a_folder(every_frame: tuple, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    df, _ = every_frame
    written = plot_timeline(df, tmp_path / "timeline")  # matplotlib appends .png: was returned without it
    assert written == tmp_path / "timeline.png" and written.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(OSError, match=f"cannot write a plot to {re.escape(str(tmp_path))}: it is a folder"):
        plot_timeline(df, tmp_path)  # was written beside it, as <folder>.png
    assert not tmp_path.with_name(tmp_path.name + ".png").exists()
    with pytest.raises(ValueError, match="Format 'xyz' is not supported"):
        plot_timeline(df, tmp_path / "timeline.xyz")
    assert plt.get_fignums() == []  # no figure left open by the failed save


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.jpg", "image file not found"),
        (b"", "empty.png", "not a readable image"),
        (b"plain text\n" * 50, "notes.jpg", "not a readable image"),
        ("dir", "folder", "not a file"),
    ],
    ids=["missing", "empty", "text-renamed-jpg", "directory"],
)
def test_bad_image_files_raise_input_errors_naming_them(
    recognizer: EmotionRecognizer, tmp_path: Path, content: bytes | str | None, name: str, message: str
) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageInputError, match=message) as raised:
        recognizer.analyze(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_an_image_over_the_decoders_pixel_limit_raises_an_input_error(
    recognizer: EmotionRecognizer, tmp_path: Path
) -> None:
    bomb = png_stating_size(60000, 60000)  # 3.6 billion pixels by its header: OpenCV asserts, cv2.error
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    for image, name in ((bomb, "image 0"), (path, str(path))):
        with pytest.raises(ImageInputError, match=f"^{re.escape(name)}: the image states more pixels than any photo"):
            recognizer.analyze(image)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((64, 64, 3), np.float32), "expected dtype uint8"),
        (np.zeros((64, 64, 2), np.uint8), r"expected shape .* got \(64, 64, 2\)"),
        (np.zeros((2, 64, 64, 3), np.uint8), r"got \(2, 64, 64, 3\)"),
        (np.zeros((0, 64, 3), np.uint8), "empty"),
        (np.zeros((0, 0), np.uint8), "empty"),
        (np.zeros((0, 0, 4), np.uint8), "empty"),
        (np.zeros((0, 5, 1), np.uint8), "empty"),
        ([[1, 2], [3, 4]], "expected a path, a URL, image bytes, a BGR numpy array or a PIL image, got list"),
    ],
    ids=["float", "two-channels", "4d", "empty", "empty-grey", "empty-bgra", "empty-one-channel", "list"],
)
def test_bad_arrays_raise_input_errors(recognizer: EmotionRecognizer, image: object, message: str) -> None:
    with pytest.raises(ImageInputError, match=message):
        recognizer.analyze(image)
    with pytest.raises(ImageInputError, match="^image 1: .*" + message):  # which image of a batch
        recognizer.analyze_batch([np.zeros((32, 32, 3), np.uint8), image])


def test_pil_images_are_read_as_their_files_are(recognizer: EmotionRecognizer, happy: list, tmp_path: Path) -> None:
    sideways = tmp_path / "phone.jpg"  # stored turned, with the EXIF tag that says so, as phones save photos
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to show
    Image.open(HAPPY_PHOTO).transpose(Image.Transpose.ROTATE_90).save(sideways, quality=95, exif=exif)
    by_path, by_pil = recognizer.analyze(sideways), recognizer.analyze(Image.open(sideways))
    assert by_path[0].label == by_pil[0].label == happy[0].label
    np.testing.assert_allclose(by_pil[0].box, by_path[0].box, atol=2)
    deep = tmp_path / "grey16.png"  # 16-bit grey, as scientific and some face datasets store photos
    grey = cv2.cvtColor(cv2.imread(str(HAPPY_PHOTO)), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(deep), grey.astype(np.uint16) * 257)
    assert Image.open(deep).mode.startswith("I")
    assert_same_faces(recognizer.analyze(Image.open(deep)), recognizer.analyze(deep))
    assert recognizer.analyze(deep)[0].label == happy[0].label


def test_pil_images_of_8_bit_values_in_32_bit_integers_are_not_read_as_black(
    recognizer: EmotionRecognizer, happy: list
) -> None:
    grey = cv2.cvtColor(cv2.imread(str(HAPPY_PHOTO)), cv2.COLOR_BGR2GRAY)
    expected = recognizer.analyze(grey)
    for image in (Image.open(HAPPY_PHOTO).convert("I"), Image.fromarray(grey.astype(np.int32))):
        assert image.mode == "I"
        assert_same_faces(recognizer.analyze(image), expected)  # was [] (every value >> 8: a black image)
    assert expected[0].label == happy[0].label
    closed = Image.open(HAPPY_PHOTO)
    closed.close()
    with pytest.raises(ImageInputError, match=r"^image 0: the PIL image cannot be decoded \(Operation on closed"):
        recognizer.analyze(closed)


def test_odd_shapes_and_strings_get_answers_not_tracebacks(recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    strip = np.full((1, 2000, 3), 128, np.uint8)  # shrunk for the detector, it would round to 0 pixels tall
    assert recognizer.analyze(strip) == [] and recognizer.analyze(strip.transpose(1, 0, 2).copy()) == []
    (whole,) = recognizer.analyze(strip, whole_image_if_no_face=True)
    assert whole.whole_image and sum(whole.probabilities.values()) == pytest.approx(1, abs=1e-4)
    payload = base64.b64encode(HAPPY_PHOTO.read_bytes()).decode()  # base64 without its data: prefix
    with pytest.raises(ImageInputError, match=r"not a file path .*\(\d+ characters\).*data:image/jpeg;base64"):
        recognizer.analyze(payload)
    with pytest.raises(ImageInputError, match="analyze_batch takes a list of images, got one str"):
        recognizer.analyze_batch(str(HAPPY_PHOTO))
    with pytest.raises(ImageInputError, match=r"^image 0: the path is empty$"):  # was "not a file: ."
        recognizer.analyze("")
    uri = HAPPY_PHOTO.as_uri()  # was "image file not found: file:/..." for a file that is there
    with pytest.raises(ImageInputError, match=rf"^{uri}: not a URL analyze reads .*give a file by its path$"):
        recognizer.analyze(uri)
    with pytest.raises(ImageInputError, match=r"^ftp://\*\*\*@host/x.jpg: not a URL analyze reads"):
        recognizer.analyze("ftp://user:secret@host/x.jpg")
    (tmp_path / "a:" / "b").mkdir(parents=True)
    (tmp_path / "a:" / "b" / "face.jpg").write_bytes(HAPPY_PHOTO.read_bytes())
    assert recognizer.analyze(f"{tmp_path}/a://b/face.jpg")[0].label == "Happy"  # a path holding "://", not a URL


def test_analyze_batch_refuses_one_image_array_instead_of_reading_its_rows(
    recognizer: EmotionRecognizer, happy: list
) -> None:
    frame = cv2.imread(str(HAPPY_PHOTO))
    for one in (frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)):  # was one empty result per row of pixels
        with pytest.raises(ImageInputError, match=rf"got one array of shape \({one.shape[0]}, .*use analyze\(\)"):
            recognizer.analyze_batch(one)
    with pytest.raises(ImageInputError, match="^analyze_batch takes a list of images, got NoneType$"):
        recognizer.analyze_batch(None)
    stacked = recognizer.analyze_batch(np.stack([frame, frame]))  # (N, H, W, C) is a batch
    assert len(stacked) == 2 and all(faces[0].label == happy[0].label for faces in stacked)
    for paths in (np.array([str(HAPPY_PHOTO)] * 2), pd.Series([str(HAPPY_PHOTO)] * 2, dtype=object).to_numpy()):
        assert [faces[0].label for faces in recognizer.analyze_batch(paths)] == [happy[0].label] * 2  # paths' arrays


def test_save_video_onto_the_video_itself_is_refused(recognizer: EmotionRecognizer, clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "clip.mp4"
    copy.write_bytes(clip.read_bytes())
    with pytest.raises(VideoInputError, match="is the video being analysed"):
        recognizer.analyze_video(copy, progress=False, save_video=tmp_path / "." / "clip.mp4")
    assert copy.read_bytes() == clip.read_bytes()


def test_a_video_without_an_index_is_read_from_its_first_frame(recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    webm = piped_webm(tmp_path / "recording.webm", frames=20, source=VIDEO)  # cannot be rewound
    df = recognizer.analyze_video(webm, every=0, progress=False)
    assert df.attrs["frames"] == 20 and sorted(df["frame"].unique()) == list(range(20))
    first = cv2.VideoCapture(str(webm)).read()[1]
    assert first is not None and df.attrs["frames"] == len(list(FrameSource(str(webm))))


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "video file not found"), (b"", "video file is empty"), (b"plain text\n" * 100, "not a readable video")],
    ids=["missing", "empty", "text-renamed-mp4"],
)
def test_bad_videos_raise_input_errors_naming_them(
    recognizer: EmotionRecognizer, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(VideoInputError, match=message) as raised:
        recognizer.analyze_video(path, progress=False)
    assert str(path) in str(raised.value)


def test_a_camera_that_does_not_open_raises(recognizer: EmotionRecognizer) -> None:
    for index in (99, np.int64(99)):  # a numpy integer is a camera index too
        with pytest.raises(VideoInputError, match="^camera 99 could not be opened"):
            recognizer.analyze_video(index, progress=False)


def test_bad_options_raise_value_errors(recognizer: EmotionRecognizer, clip: Path, tmp_path: Path) -> None:
    for every in (-1, "1", float("nan")):
        with pytest.raises(ValueError, match="every must be a number of seconds >= 0"):
            recognizer.analyze_video(clip, every=every)
    for max_seconds in (-1, "1", float("nan"), True):  # "1" was a TypeError mid-run, -1 and nan ran silently
        with pytest.raises(ValueError, match="max_seconds must be None or a number of seconds >= 0"):
            recognizer.analyze_video(clip, max_seconds=max_seconds)
    with pytest.raises(OSError, match="cannot write a video"):
        recognizer.analyze_video(clip, progress=False, save_video=tmp_path / "out.unknown-extension")
    with pytest.raises(ValueError, match="backend must be one of .*'no-such-backend'"):
        EmotionRecognizer(backend="no-such-backend")
    with pytest.raises(ModelFileError, match="model file not found: .*missing.pkl"):  # as docs/api.md names it
        EmotionRecognizer(model_path=tmp_path / "missing.pkl")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.pkl").touch()
    with pytest.raises(ModelFileError, match=r"runs is a folder, not a model file \(it holds a.pkl\)$"):
        EmotionRecognizer(model_path=tmp_path / "runs")  # was 'model file not found' for a folder that exists
    with pytest.raises(TypeError, match=r"^model_path must be a file path \(str or Path\), got int$"):
        EmotionRecognizer(model_path=5)  # was os.fspath's 'expected str, bytes or os.PathLike object'
    with pytest.raises(ValueError, match="^face_pipeline.detect_every must be a whole number >= 1, got 'abc'$"):
        EmotionRecognizer(overrides=["face_pipeline.detect_every=abc"])  # was int()'s 'invalid literal' naming nothing
    with pytest.raises(ValueError, match="^views must be one of .*, got 'bogus'$"):
        EmotionRecognizer(views="bogus")  # the predictor's message named its own option, tta
    assert issubclass(ModelFileError, ValueError)
    with pytest.raises(ValueError, match=r"^EmotionRecognizer overrides: .*one string \(write \['detect_every=1'\]\)$"):
        EmotionRecognizer(overrides="detect_every=1")  # was parsed letter by letter: "Error parsing override 'd'"
    malformed = "^EmotionRecognizer overrides: Error parsing override 'face_pipeline.detect_every'$"
    with pytest.raises(ValueError, match=malformed):
        EmotionRecognizer(overrides=["face_pipeline.detect_every"])  # was Hydra's own, not a ValueError, 3 lines


def test_importing_the_package_does_not_load_the_api() -> None:
    code = (
        "import sys, facial_emotion, facial_emotion.core.labels\n"
        "assert 'facial_emotion.api' not in sys.modules and 'torch' not in sys.modules, 'not lazy'\n"
        "from facial_emotion import EmotionRecognizer\n"
        "from facial_emotion.api.recognizer import EmotionRecognizer as Direct\n"
        "assert EmotionRecognizer is Direct\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (-1, r"^camera -1: a camera index is 0 or more"),
        (np.int64(-1), r"^camera -1: a camera index is 0 or more"),
        (True, r"^expected a video path, a stream URL or a camera index, got bool"),
        (None, r"got NoneType"),
        (b"clip.mp4", r"got bytes"),
    ],
    ids=["negative-camera", "numpy-negative-camera", "bool", "none", "bytes"],
)
def test_a_source_that_is_no_video_or_camera_raises_before_opening(
    recognizer: EmotionRecognizer, source: object, message: str
) -> None:
    # unchecked, cv2.VideoCapture(-1) ends the whole process (SIGSEGV) on a machine without a camera
    with pytest.raises(VideoInputError, match=message):
        recognizer.analyze_video(source, progress=False)
