"""The app's HTTP and WebSocket behaviour through FastAPI's TestClient: real model, real photos and clips."""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from facial_emotion.api import EmotionRecognizer
from facial_emotion.app import video_jobs
from facial_emotion.app.live import HEADER
from facial_emotion.app.load_client import serving
from facial_emotion.app.server import create_app, display_name
from facial_emotion.app.sessions import SessionStore
from facial_emotion.app.settings import AppSettings
from tests.app_support import CLIP, PHOTO, mjpg_avi, piped_webm, png_stating_size, short_clip, truncated_avi

pytestmark = pytest.mark.skipif(not CLIP.is_file() or not PHOTO.is_file(), reason="needs ../shared videos and faces")


@pytest.fixture(scope="module")
def recognizer() -> EmotionRecognizer:
    return EmotionRecognizer()


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(work_dir=tmp_path / "work", max_upload_mb=5, max_video_minutes=1, max_frame_kb=256)


@pytest.fixture
def client(settings: AppSettings, recognizer: EmotionRecognizer):
    with TestClient(create_app(settings, recognizer)) as test_client:
        yield test_client


def frame_message(seq: int, image: np.ndarray) -> bytes:
    return HEADER.pack(seq) + cv2.imencode(".jpg", image)[1].tobytes()


def clip_frame(index: int = 0) -> np.ndarray:
    capture = cv2.VideoCapture(str(CLIP))
    for _ in range(index + 1):
        ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


def test_page_and_assets_are_served_by_the_app(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "perceived facial expressions" in page.text
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    assert "//cdn" not in page.text and "https://" not in page.text


def test_photo_upload_gives_the_apis_answer(client: TestClient, recognizer: EmotionRecognizer) -> None:
    response = client.post("/api/photos", params={"name": "face.jpg"}, content=PHOTO.read_bytes())
    assert response.status_code == 200
    body = response.json()
    expected = [face.to_dict() for face in recognizer.analyze(PHOTO)]
    assert body["name"] == "face.jpg" and len(body["faces"]) == len(expected) >= 1
    for got, want in zip(body["faces"], expected, strict=True):
        assert got["label"] == want["label"]
        np.testing.assert_allclose(got["box"], want["box"], atol=1e-3)
        assert abs(sum(got["probabilities"].values()) - 1) < 1e-4


def test_photo_without_a_face_is_read_whole_only_when_asked(client: TestClient, recognizer: EmotionRecognizer) -> None:
    ok, blank = cv2.imencode(".png", np.full((240, 320, 3), 128, np.uint8))
    assert ok
    without = client.post("/api/photos", params={"name": "wall.png"}, content=blank.tobytes())
    assert without.status_code == 200 and without.json()["faces"] == []
    whole = client.post("/api/photos", params={"name": "wall.png", "whole_image": "true"}, content=blank.tobytes())
    assert whole.status_code == 200
    (face,) = whole.json()["faces"]
    (expected,) = recognizer.analyze(np.full((240, 320, 3), 128, np.uint8), whole_image_if_no_face=True)
    assert face["whole_image"] and face["label"] == expected.label
    assert face["probability"] == pytest.approx(expected.probability, abs=1e-5)
    with_face = client.post("/api/photos", params={"name": "f.jpg", "whole_image": "true"}, content=PHOTO.read_bytes())
    assert not any(f["whole_image"] for f in with_face.json()["faces"])


@pytest.mark.parametrize(
    ("body", "status", "words"), [(b"not an image at all", 415, "not an image"), (b"", 415, "not an image")]
)
def test_bad_photo_is_a_4xx_with_one_line(client: TestClient, body: bytes, status: int, words: str) -> None:
    response = client.post("/api/photos", params={"name": "x.txt"}, content=body)
    assert response.status_code == status
    assert words in response.json()["detail"] and "\n" not in response.json()["detail"]
    assert client.get("/").status_code == 200  # still serving


def test_photo_and_frame_are_sized_from_their_header_before_decoding(client: TestClient) -> None:
    # 8000 x 8000 by its header, 8 x 8 of pixel data: refused for its size, so it was never decoded
    response = client.post("/api/photos", params={"name": "big.png"}, content=png_stating_size(8000, 8000))
    assert response.status_code == 413 and "8000x8000 pixels is too large" in response.json()["detail"]
    bomb = client.post("/api/photos", params={"name": "bomb.png"}, content=png_stating_size(20000, 20000))
    assert bomb.status_code == 413 and "bomb.png: the image states more pixels" in bomb.json()["detail"]
    with client.websocket_connect("/ws/live") as socket:
        socket.send_bytes(HEADER.pack(3) + png_stating_size(4000, 3000))
        assert socket.receive_json() == {"seq": None, "error": "frame 3: 4000x3000 is over 1920 px"}
        socket.send_bytes(frame_message(4, clip_frame()))
        assert socket.receive_json()["seq"] == 4  # still serving
    assert client.post("/api/photos", params={"name": "f.jpg"}, content=PHOTO.read_bytes()).status_code == 200


def test_form_upload_is_refused_with_how_to_send_it(client: TestClient) -> None:
    for route in ("/api/photos", "/api/videos"):
        response = client.post(route, files={"file": ("face.jpg", PHOTO.read_bytes(), "image/jpeg")})
        assert response.status_code == 415 and "not a form" in response.json()["detail"]


def test_no_page_loads_anything_from_the_internet(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_upload_over_the_size_limit_is_refused_before_reading(client: TestClient, settings: AppSettings) -> None:
    too_big = b"\0" * (settings.max_upload_bytes + 1)
    for route in ("/api/photos", "/api/videos"):
        response = client.post(route, params={"name": "big.bin"}, content=too_big)
        assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_streamed_upload_without_length_stops_at_the_limit(client: TestClient, settings: AppSettings) -> None:
    def chunks():
        for _ in range(8):
            yield b"\0" * (settings.max_upload_bytes // 4)

    response = client.post("/api/videos", params={"name": "stream.mp4"}, content=chunks())
    assert response.status_code == 413
    assert not [p for p in settings.work_dir.rglob("*") if p.is_file()]  # nothing kept


def test_non_video_and_too_long_video_are_refused(client: TestClient, tmp_path: Path, recognizer) -> None:
    response = client.post("/api/videos", params={"name": "notes.mp4"}, content=b"hello, not a video")
    assert response.status_code == 415 and "not a video" in response.json()["detail"]
    strict = AppSettings(work_dir=tmp_path / "strict", max_video_minutes=0.05)  # 3 s; the clip is 7.2 s
    with TestClient(create_app(strict, recognizer)) as short_limit:
        response = short_limit.post("/api/videos", params={"name": "clip.mp4"}, content=CLIP.read_bytes())
    assert response.status_code == 422 and "over the 0.05 min limit" in response.json()["detail"]


def wait_for_job(client: TestClient, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/videos/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_video_upload_csv_and_h264_match_analyze_video(client, recognizer, settings, tmp_path: Path) -> None:
    clip = short_clip(tmp_path / "clip.mp4", frames=40)
    started = client.post("/api/videos", params={"name": "../../etc/my clip.mp4"}, content=clip.read_bytes())
    assert started.status_code == 200 and started.json()["name"] == "my clip.mp4"
    job = wait_for_job(client, started.json()["job_id"])
    assert job["status"] == "done", job["error"]
    served = pd.read_csv(io.StringIO(client.get(f"/api/videos/{job['job_id']}/csv").text))
    expected = recognizer.analyze_video(clip, every=settings.every, progress=False)
    assert list(served.columns) == list(expected.columns) and len(served) == len(expected) > 0
    assert (served["label"] == expected["label"]).all()
    np.testing.assert_allclose(served[recognizer.class_names], expected[recognizer.class_names], atol=1e-3)
    video = client.get(f"/api/videos/{job['job_id']}/video")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    annotated = tmp_path / "annotated.mp4"
    annotated.write_bytes(video.content)
    capture = cv2.VideoCapture(str(annotated))
    codec = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    assert codec in ("avc1", "h264") and frames == 40
    stored = [p.name for p in settings.work_dir.rglob("*") if p.is_file()]
    assert stored and all("clip" not in name and "etc" not in name for name in stored)  # generated names only


def test_a_truncated_upload_is_analysed_up_to_the_cut_and_its_job_names_the_last_frame(
    client: TestClient, settings: AppSettings, tmp_path: Path
) -> None:
    cut = truncated_avi(tmp_path / "cut.avi", 60)  # 2 s at 30 fps, its bytes cut at half
    started = client.post("/api/videos", params={"name": "../my cut.avi"}, content=cut.read_bytes())
    assert started.status_code == 200 and started.json()["warning"] is None  # not known until it is read
    job = wait_for_job(client, started.json()["job_id"])
    assert job["status"] == "done", job["error"]
    warning = re.fullmatch(
        r"my cut\.avi: no frame could be read after frame (\d+) of 60 \(time ([\d.]+) s\): "
        r"the file looks truncated; results cover 0-\2 s",
        job["warning"] or "",
    )
    assert warning and 10 < int(warning[1]) < 50, job["warning"]  # the visitor's file name, not the server's path
    assert str(settings.work_dir) not in job["warning"] and ".upload" not in job["warning"]
    assert job["duration"] == pytest.approx(int(warning[1]) / 30, abs=1e-3) and len(job["table"]) >= 1
    served = pd.read_csv(io.StringIO(client.get(f"/api/videos/{job['job_id']}/csv").text))
    assert served["frame"].max() < int(warning[1])
    intact = mjpg_avi(tmp_path / "intact.avi", 60)
    started = client.post("/api/videos", params={"name": "intact.avi"}, content=intact.read_bytes())
    job = wait_for_job(client, started.json()["job_id"])
    assert job["status"] == "done" and job["warning"] is None and job["duration"] == pytest.approx(2.0)


def test_unknown_job_is_404_and_unfinished_download_409(client: TestClient) -> None:
    assert client.get("/api/videos/abc").status_code == 404
    assert client.get("/api/videos/abc/csv").status_code == 404


def test_live_socket_answers_faces_and_survives_bad_messages(client: TestClient) -> None:
    frame = clip_frame(0)
    with client.websocket_connect("/ws/live") as good, client.websocket_connect("/ws/live") as bad:
        bad.send_text("hello")
        assert "binary" in bad.receive_json()["error"]
        bad.send_bytes(b"\0\0\0\1garbage")
        assert "frame 1: not a JPEG" in bad.receive_json()["error"]
        bad.send_bytes(b"\0\0")
        assert "4-byte frame number" in bad.receive_json()["error"]
        bad.send_bytes(HEADER.pack(2) + b"\xff" * (300 * 1024))
        assert "over the 256 KB limit" in bad.receive_json()["error"]
        good.send_bytes(frame_message(7, frame))
        answer = good.receive_json()
        assert answer["seq"] == 7 and len(answer["faces"]) == 1
        face = answer["faces"][0]
        assert face["id"] >= 1 and face["label"] in face["probabilities"] and 0 < face["probability"] <= 1
        x, y, w, h = face["box"]
        assert 0 <= x < frame.shape[1] and w > 40 and h > 40
        bad.send_bytes(frame_message(3, frame))  # the socket that sent garbage still works
        assert bad.receive_json()["seq"] == 3


def test_live_tracking_keeps_the_face_id(client: TestClient) -> None:
    with client.websocket_connect("/ws/live") as socket:
        ids = []
        for seq in range(1, 6):
            socket.send_bytes(frame_message(seq, clip_frame(seq)))
            ids.append([face["id"] for face in socket.receive_json()["faces"]])
    assert ids[0] and all(frame_ids == ids[0] for frame_ids in ids)


def test_session_folder_is_deleted_on_leave_and_on_expiry(client: TestClient, settings: AppSettings, tmp_path) -> None:
    client.post("/api/photos", params={"name": "face.jpg"}, content=PHOTO.read_bytes())
    assert not settings.work_dir.exists() or not list(settings.work_dir.iterdir())  # a photo needs no folder
    upload = client.app.state.store.find(client.cookies["fe_session"]).new_path(".upload")
    upload.write_bytes(b"x")
    folder = upload.parent
    assert folder.stat().st_mode & 0o777 == 0o700  # other users of a shared /tmp cannot read uploads
    assert client.post("/api/session/end").json() == {"deleted": True} and not folder.exists()
    store = SessionStore(tmp_path / "expiry", ttl_seconds=60)
    session = store.get_or_create(None)
    session.new_path(".upload")
    assert store.expire(now=session.last_seen + 30) == [] and session.folder.exists()
    assert store.expire(now=session.last_seen + 61) == [session.session_id] and not session.folder.exists()
    assert store.get_or_create("../../etc").folder.parent == tmp_path / "expiry"  # a forged id is never a path


def test_folders_a_killed_server_left_are_removed_once_idle_past_the_limit(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "work", ttl_seconds=60)
    live = store.get_or_create(None)
    live.new_path(".upload").write_bytes(b"mine")
    leftover, recent = tmp_path / "work" / "0badc0ffee", tmp_path / "work" / "another-servers"
    for folder in (leftover, recent):
        folder.mkdir()
        (folder / "half.upload").write_bytes(b"partial")
    old = time.time() - 120
    for path in (leftover, leftover / "half.upload", live.folder, *live.folder.iterdir()):
        os.utime(path, (old, old))
    assert store.remove_leftovers() == [leftover]
    assert not leftover.exists() and recent.exists() and live.folder.exists()


def test_video_without_a_frame_count_is_counted_and_analysed(client: TestClient, tmp_path: Path) -> None:
    webm = piped_webm(tmp_path / "recording.webm", frames=20)  # what a browser's recorder uploads
    response = client.post("/api/videos", params={"name": "recording.webm"}, content=webm.read_bytes())
    assert response.status_code == 200, response.text
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "done", job["error"]
    table = pd.read_csv(io.StringIO(client.get(f"/api/videos/{job['job_id']}/csv").text))
    assert len(table) >= 1 and table["frame"].iloc[0] == 0 and table["label"].notna().all()


def test_video_without_a_frame_count_over_the_limit_is_refused(tmp_path: Path, recognizer) -> None:
    """A browser's recording states no length: it is read up to the limit by its frames' times, then refused."""
    webm = piped_webm(tmp_path / "recording.webm", frames=120)  # 4-5 s
    strict = AppSettings(work_dir=tmp_path / "strict", max_video_minutes=0.05)  # 3 s
    with TestClient(create_app(strict, recognizer)) as short_limit:
        response = short_limit.post("/api/videos", params={"name": "recording.webm"}, content=webm.read_bytes())
    assert response.status_code == 422 and "over the 0.05 min limit" in response.json()["detail"]


def test_closing_a_tab_stops_its_analysis_and_keeps_the_other_tabs(client: TestClient, tmp_path: Path) -> None:
    long_clip, short = short_clip(tmp_path / "long.mp4", frames=150), short_clip(tmp_path / "short.mp4", frames=10)
    first = client.post("/api/videos", params={"name": "long.mp4", "tab": "A"}, content=long_clip.read_bytes()).json()
    store, jobs = client.app.state.store, client.app.state.jobs
    long_job = jobs.get(store.find(client.cookies["fe_session"]), first["job_id"])
    second = client.post("/api/videos", params={"name": "s.mp4", "tab": "B"}, content=short.read_bytes()).json()
    assert client.post("/api/session/end", params={"tab": "A"}).json() == {"deleted": True}
    assert client.get(f"/api/videos/{first['job_id']}").status_code == 404
    job = wait_for_job(client, second["job_id"], timeout=60)  # not behind the closed tab's whole analysis
    assert job["status"] == "done" and client.get(f"/api/videos/{second['job_id']}/csv").status_code == 200
    assert long_job.status == "cancelled" and long_job.frames_done < 150
    assert not long_job.csv.exists() and not long_job.upload.exists()


def test_display_name_drops_paths_and_odd_characters() -> None:
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\me\\clip<1>.mp4") == "clip_1_.mp4"
    assert display_name("") == "upload"


def test_an_upload_the_client_cuts_off_leaves_no_file_and_no_traceback(
    settings: AppSettings, recognizer: EmotionRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")  # uvicorn's loggers do not propagate to the root's
    uvicorn_log.addHandler(caplog.handler)
    try:
        with serving(create_app(settings, recognizer)) as url:
            port = int(url.rsplit(":", 1)[1])
            for route in ("/api/videos", "/api/photos"):  # a visitor closing the tab half way through an upload
                with socket.create_connection(("127.0.0.1", port)) as client:
                    head = f"POST {route}?name=clip.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                    client.sendall(head.encode() + CLIP.read_bytes()[:50_000])
                    time.sleep(0.5)  # the server has the first part
            time.sleep(0.5)
            with urllib.request.urlopen(f"{url}/api/info", timeout=10) as response:  # still serving
                assert response.status == 200
            assert not [p for p in settings.work_dir.rglob("*") if p.is_file()]  # the part was kept for 30 min
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]  # "Exception in ASGI app"


def test_stopping_the_server_stops_a_running_analysis_at_its_next_frame(
    settings: AppSettings, recognizer: EmotionRecognizer, tmp_path: Path
) -> None:
    long_clip = short_clip(tmp_path / "long.mp4", frames=150)
    with TestClient(create_app(settings, recognizer)) as client:
        started = client.post("/api/videos", params={"name": "long.mp4"}, content=long_clip.read_bytes()).json()
        job = client.app.state.jobs.get(client.app.state.store.find(client.cookies["fe_session"]), started["job_id"])
        deadline = time.monotonic() + 60
        while job.frames_done < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.status == "running"
    stopped = time.monotonic()  # the app has shut down (Ctrl-C): the analysis must not run on to its end
    while job.status == "running" and time.monotonic() < stopped + 30:
        time.sleep(0.05)
    assert job.status == "cancelled" and job.frames_done < 150  # was "done" after every frame (or "failed")


def test_an_ffmpeg_failure_fails_the_job_without_showing_the_servers_paths(
    client: TestClient, settings: AppSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/bin/false")  # an ffmpeg that fails, as a broken install's does
    clip = short_clip(tmp_path / "clip.mp4", frames=10)
    started = client.post("/api/videos", params={"name": "my clip.mp4"}, content=clip.read_bytes()).json()
    job = wait_for_job(client, started["job_id"])
    assert job["status"] == "failed"
    # was "my clip.mp4: Command '['/bin/false', '-y', ..., '<work dir>/<id>.raw.mp4', ...]' returned non-zero ..."
    assert job["error"] == "my clip.mp4: the annotated video could not be encoded as H.264 (ffmpeg exit status 1)"


def test_an_unexpected_error_fails_the_job_instead_of_leaving_it_running(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """imageio-ffmpeg raises RuntimeError when it finds no ffmpeg at all: the job stayed "running" and the page
    polled it forever."""

    def no_ffmpeg() -> str:
        raise RuntimeError("No ffmpeg exe could be found. Install ffmpeg on your system, or set IMAGEIO_FFMPEG_EXE.")

    monkeypatch.setattr(video_jobs.imageio_ffmpeg, "get_ffmpeg_exe", no_ffmpeg)
    clip = short_clip(tmp_path / "clip.mp4", frames=10)
    started = client.post("/api/videos", params={"name": "my clip.mp4"}, content=clip.read_bytes()).json()
    with caplog.at_level(logging.ERROR, logger="facial_emotion.app.video_jobs"):
        job = wait_for_job(client, started["job_id"])
    assert job["status"] == "failed"
    assert job["error"] == "my clip.mp4: the analysis failed (RuntimeError); the server's log has the details"
    assert "No ffmpeg exe could be found" in caplog.text  # the details, for whoever runs the server
    assert client.get("/api/info").status_code == 200  # and it keeps serving


def test_a_bad_query_value_is_a_422_with_one_line_the_page_can_show(client: TestClient) -> None:
    """FastAPI's own detail is a list of dicts, which the page showed as "[object Object]"."""
    answer = client.post("/api/photos", params={"name": "a.jpg", "whole_image": "maybe"}, content=PHOTO.read_bytes())
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": "whole_image: Input should be a valid boolean, unable to interpret input (got 'maybe')"
    }
    assert client.post("/api/photos", params={"name": "a.jpg"}, content=PHOTO.read_bytes()).status_code == 200


def test_the_http_api_table_in_docs_lists_every_route_the_app_serves(client: TestClient) -> None:
    """docs/api.md, "The app's HTTP API": the routes a client can call, no more and no fewer."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## The app's HTTP API")[1].split("\n## ")[0]
    documented = set(re.findall(r"^\| `(GET|POST|WebSocket) (/[^`]*)`", section, flags=re.MULTILINE))
    served = set()
    for route in client.app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/api/"):
            served |= {(method, path) for method in getattr(route, "methods", ())}
        elif path.startswith("/ws/"):
            served.add(("WebSocket", path))
    assert documented == served
