"""Network streams as video sources: an IP camera's MJPEG over HTTP, served for real from a local thread."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.video.frame_source import FrameSource, VideoSourceError, parse_source, redact_credentials
from tests.conftest import unused_port

DEMO_VIDEO = PROJECT_ROOT / "results" / "preprocessing_test" / "input_video.mp4"
EMOTION_LINE = re.compile(r"^\d{2}:\d{2}:\d{2}s : (Angry|Disgust|Fear|Happy|Sad|Surprise|Neutral) , \d{1,3}%$")


def demo_frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(DEMO_VIDEO))
    frames = [capture.read()[1] for _ in range(count)]
    capture.release()
    return frames


GREY_LEVELS = 100  # /fast serves flat frames whose grey level 2 * i numbers them


class MjpegCamera(BaseHTTPRequestHandler):
    """What phone camera apps and many IP cameras serve: JPEG frames as multipart/x-mixed-replace. `/clip` sends
    the demo frames once at 25 per second, `/live` loops them until the client leaves, `/fast` sends 100 numbered
    flat frames at 100 per second."""

    frames: list[bytes] = []
    numbered = [cv2.imencode(".jpg", np.full((48, 64, 3), 2 * i, np.uint8))[1].tobytes() for i in range(GREY_LEVELS)]

    def do_GET(self) -> None:
        if self.path not in ("/clip", "/live", "/fast"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        frames, interval = (self.numbered, 0.01) if self.path == "/fast" else (self.frames, 0.04)
        index = 0
        try:
            while self.path == "/live" or index < len(frames):
                jpeg = frames[index % len(frames)]
                header = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                self.wfile.write(header + jpeg + b"\r\n")
                index += 1
                time.sleep(interval)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def camera_url() -> Iterator[str]:
    """The base URL of a local MJPEG camera serving the demo video's first 20 frames."""
    MjpegCamera.frames = [cv2.imencode(".jpg", frame)[1].tobytes() for frame in demo_frames(20)]
    server = ThreadingHTTPServer(("127.0.0.1", 0), MjpegCamera)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_urls_are_streams_and_everything_else_a_camera_or_a_file() -> None:
    assert parse_source("rtsp://cam.local:554/stream1") == "rtsp://cam.local:554/stream1"
    assert parse_source(" HTTP://192.168.1.20:8080/video ") == "HTTP://192.168.1.20:8080/video"
    assert parse_source("0") == 0 and parse_source(2) == 2
    assert parse_source("clips/http_talk.mp4") == Path("clips/http_talk.mp4")
    assert parse_source("file://clip.mp4") == Path("file://clip.mp4")  # not a network scheme: a (missing) file


def test_credentials_in_a_url_are_never_shown() -> None:
    assert redact_credentials("rtsp://admin:s3cret@10.0.0.7:554/live") == "rtsp://***@10.0.0.7:554/live"
    assert redact_credentials("http://10.0.0.7/video?user=x@y") == "http://10.0.0.7/video?user=x@y"


def test_an_mjpeg_camera_is_read_as_a_live_stream(camera_url: str) -> None:
    source = FrameSource(camera_url.replace("http://", "http://admin:s3cret@") + "/clip")
    assert source.is_live and source.frame_count is None
    assert "s3cret" not in source.description and source.description.endswith("/clip")
    frames = list(source)
    # The opening check reads the first frame of a live stream; the rest arrive in order, timed by the wall clock
    # (a consumer this fast takes them all; one that is not would skip to the newest, see below).
    assert len(frames) + source.frames_dropped == 19 and len(frames) >= 15
    stamps = [timestamp for timestamp, _ in frames]
    assert stamps == sorted(stamps) and 0.4 < stamps[-1] - stamps[0] < 5
    expected = demo_frames(20)
    matched = []
    for _, frame in frames:
        differences = [np.abs(frame.astype(int) - original.astype(int)).mean() for original in expected]
        assert frame.shape == expected[0].shape and min(differences) < 4  # the JPEG of one of the demo frames
        matched.append(int(np.argmin(differences)))
    assert matched == sorted(set(matched)) and matched[0] >= 1


def test_a_slow_consumer_gets_the_newest_frame_not_a_growing_queue(camera_url: str) -> None:
    """100 frames at 100 per second, taken at 10 per second: about every tenth, and the last ones at the end."""
    source = FrameSource(camera_url + "/fast")
    numbers = []
    for _, frame in source:
        numbers.append(round(float(frame.mean()) / 2))
        time.sleep(0.1)
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert len(numbers) <= 30 and numbers[-1] >= GREY_LEVELS - 10  # without dropping: all 99, ending 9 s late
    assert source.frames_dropped >= GREY_LEVELS - 1 - len(numbers) - 5


def test_a_stream_that_cannot_be_opened_is_a_one_line_error() -> None:
    port = unused_port()
    with pytest.raises(VideoSourceError) as error:
        FrameSource(f"rtsp://admin:s3cret@127.0.0.1:{port}/live")
    message = str(error.value)
    assert (
        message
        == f"stream rtsp://***@127.0.0.1:{port}/live could not be opened (unreachable, refused, or no video there)"
    )


def test_the_live_stream_script_reads_an_ip_camera(camera_url: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "scripts" / "predict_live_stream.py"),
            f"source={camera_url}/live",
            "max_seconds=2",
            "show=false",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Reading video stream ...")
    assert [line[:9] for line in lines if EMOTION_LINE.match(line)][:2] == ["00:00:00s", "00:00:01s"]


@pytest.mark.parametrize(
    "arguments", [["predict_live_stream.py", "source=-1", "show=false"], ["preprocess.py", "video=-1"]]
)
def test_a_negative_camera_index_is_a_one_line_error_not_a_crash(arguments: list[str], tmp_path: Path) -> None:
    script, *overrides = arguments
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / script), *overrides, f"hydra.run.dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result  # OpenCV's VideoCapture(-1) ended the interpreter (-11) without a camera
    assert result.stderr.strip() == "error: camera -1: a camera index is 0 or more (0: the first camera)"
    assert "falling back" not in result.stdout
