"""Variable-frame-rate videos: every frame of a file is timed by its own presentation time, not its index / fps, in
the printed lines, the log, the annotated video, `analyze_video` and the app's video jobs; constant-rate files keep
index / fps to the last bit.

The clip: real talking-head frames re-timed by FFmpeg (10 fps for 2 s, a 1.1 s pause, 20 fps for 1 s, 50 fps for
0.5 s). Its frames' times are known exactly (whole milliseconds), each frame carries its index in black and white
squares, and index / fps (the old timing) misplaces its middle by over 1.5 s.
"""

from __future__ import annotations

import io
import re
import subprocess
import time
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hydra import compose, initialize_config_dir

from facial_emotion.api import EmotionRecognizer
from facial_emotion.app.server import create_app
from facial_emotion.app.settings import AppSettings
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks import predict_live_stream
from facial_emotion.video.frame_source import FrameSource
from tests.app_support import mjpg_avi
from tests.conftest import CONFIG_DIR

SOURCE = PROJECT_ROOT.parent / "shared" / "videos" / "videoretalking_face5.mp4"  # 25 fps, one face throughout
MODEL = PROJECT_ROOT / "results" / "model" / "my_own_model.pkl"
SIZE = 256
SEGMENTS = ((0.0, 10, 20), (3.0, 20, 20), (4.0, 50, 25))  # (start s, frames per second, frames)
TIMES = np.array([start + k / rate for start, rate, count in SEGMENTS for k in range(count)]).round(3)
BITS = 7  # frame i's index, written in black and white squares along its bottom-left edge
MARKS = [(slice(SIZE - 16, SIZE), slice(16 * bit, 16 * bit + 16)) for bit in range(BITS)]
TIME_TOLERANCE = 0.002  # the clip stores whole milliseconds; a frame is 20-100 ms
EMOTION_LINE = re.compile(r"^(\d{2}:\d{2}:\d{2}s) : ")

pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"real face video not found: {SOURCE}")


def ffmpeg(*arguments: str, stdin: bytes | None = None) -> None:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *arguments]
    subprocess.run(command, input=stdin, check=True, capture_output=True, timeout=120)


def marked_frames() -> list[np.ndarray]:
    """The first len(TIMES) frames of SOURCE at SIZE x SIZE, each with its index in binary (MARKS)."""
    capture = cv2.VideoCapture(str(SOURCE))
    frames = []
    for index in range(len(TIMES)):
        ok, frame = capture.read()
        assert ok
        frame = cv2.resize(frame, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        for bit, mark in enumerate(MARKS):
            frame[mark] = 255 * (index >> bit & 1)
        frames.append(frame)
    capture.release()
    return frames


def frame_index(frame: np.ndarray) -> int:
    """Which clip frame `frame` shows (or an annotated copy of it), read from its squares."""
    return sum(1 << bit for bit, mark in enumerate(MARKS) if frame[mark].mean() > 128)


def pts_expression() -> str:
    """FFmpeg's setpts expression giving frame N its time in TIMES, in milliseconds (time base 1/1000)."""
    expression, first = "0", 0
    pieces = []
    for start, rate, count in SEGMENTS:
        pieces.append((first + count, f"round(1000*({start}+(N-{first})/{rate}))"))
        first += count
    for end, piece in reversed(pieces):
        expression = f"if(lt(N,{end}),{piece},{expression})"
    return expression


@pytest.fixture(scope="module")
def vfr_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The clip as H.264 in MP4 and remuxed to MKV (both state its average rate, 14.4 fps) and re-encoded as MPEG-4
    Part 2 in AVI (stated 100 fps: its frames in 10 ms slots, most of them empty)."""
    folder = tmp_path_factory.mktemp("vfr")
    raw = b"".join(frame.tobytes() for frame in marked_frames())
    mp4 = folder / "vfr.mp4"
    source = ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{SIZE}x{SIZE}", "-r", "25", "-i", "-"]
    timing = ["-vf", f"settb=1/1000,setpts='{pts_expression()}'", "-fps_mode", "passthrough"]
    encoding = ["-enc_time_base", "1:1000", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "10"]
    ffmpeg(*source, *timing, *encoding, "-pix_fmt", "yuv420p", str(mp4), stdin=raw)
    ffmpeg("-i", str(mp4), "-c", "copy", str(folder / "vfr.mkv"))
    ffmpeg("-i", str(mp4), "-fps_mode", "passthrough", "-c:v", "mpeg4", "-q:v", "2", str(folder / "vfr.avi"))
    return {suffix: folder / f"vfr.{suffix}" for suffix in ("mp4", "mkv", "avi")}


def compose_live_stream(*overrides: str):
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        base = ["realtime=false", "show=false", f"model_path={MODEL}"]
        return compose(config_name="predict_live_stream", overrides=[*base, *overrides])


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return frames, fps


def assert_on_the_clock(frames: list[np.ndarray], fps: float, end: float) -> None:
    """Each frame of an annotated video at `fps` shows the clip frame on screen at its time, within half a frame:
    started by then, and not yet replaced half a frame before; the video lasts until `end`."""
    assert len(frames) == int(end * fps + 0.5)
    for slot, frame in enumerate(frames):
        shown, moment = frame_index(frame), slot / fps
        assert TIMES[shown] <= moment + 0.5 / fps + TIME_TOLERANCE, (slot, shown)
        assert shown == len(TIMES) - 1 or TIMES[shown + 1] > moment - 0.5 / fps - TIME_TOLERANCE, (slot, shown)


@pytest.mark.parametrize("container", ["mp4", "mkv", "avi"])
def test_each_frame_of_a_variable_rate_file_gets_its_own_time(vfr_clips: dict[str, Path], container: str) -> None:
    source = FrameSource(vfr_clips[container])
    stamps, indices = zip(*((stamp, frame_index(frame)) for stamp, frame in source), strict=True)
    assert list(indices) == list(range(len(TIMES)))
    np.testing.assert_allclose(stamps, TIMES, atol=TIME_TOLERANCE, rtol=0)
    assert np.abs(np.arange(len(TIMES)) / source.fps - TIMES).max() > 1.0  # what index / fps gave
    assert source.end_time == pytest.approx(TIMES[-1] + 1 / source.fps, abs=TIME_TOLERANCE)


def test_live_stream_lines_log_and_annotated_video_follow_the_frames_times(
    vfr_clips: dict[str, Path], tmp_path: Path, capsys
) -> None:
    log, annotated = tmp_path / "log.csv", tmp_path / "annotated.mp4"
    predict_live_stream.run(compose_live_stream(f"source={vfr_clips['mp4']}", f"log={log}", f"save_video={annotated}"))
    out = capsys.readouterr().out
    # No frame starts in second 2 (the clip pauses from 1.9 s to 3.0 s): no line for it.
    assert [m[1] for line in out.splitlines() if (m := EMOTION_LINE.match(line))] == [
        "00:00:00s",
        "00:00:01s",
        "00:00:03s",
        "00:00:04s",
    ]
    logged = pd.read_csv(log)["time"].to_numpy()
    assert len(logged) > len(TIMES) // 2
    assert np.abs(logged[:, None] - TIMES[None, :]).min(axis=1).max() <= TIME_TOLERANCE  # each a frame's own time
    assert not ((logged > 1.95) & (logged < 2.95)).any() and (np.abs(logged - 4.48) <= TIME_TOLERANCE).any()
    frames, fps = read_video(annotated)
    assert 10 < fps < 20  # the MP4's stated (average) rate: frames of the 20 and 50 fps parts are left out
    assert_on_the_clock(frames, fps, TIMES[-1] + 1 / fps)


def test_max_seconds_stops_at_the_frames_own_time(vfr_clips: dict[str, Path], tmp_path: Path, capsys) -> None:
    log, annotated = tmp_path / "log.csv", tmp_path / "annotated.mp4"
    overrides = [f"source={vfr_clips['avi']}", "max_seconds=3.5", f"log={log}", f"save_video={annotated}"]
    predict_live_stream.run(compose_live_stream(*overrides))
    lines = [line for line in capsys.readouterr().out.splitlines() if EMOTION_LINE.match(line)]
    assert [line[:9] for line in lines] == ["00:00:00s", "00:00:01s", "00:00:03s"]
    assert pd.read_csv(log)["time"].max() == pytest.approx(3.45, abs=TIME_TOLERANCE)  # the last frame before 3.5 s
    frames, fps = read_video(annotated)
    assert fps == pytest.approx(100.0)  # the AVI's stated rate: each 10 fps frame is held for 10 slots
    assert_on_the_clock(frames, fps, 3.5)


def test_a_variable_rate_file_played_in_real_time_is_paced_and_skipped_by_its_frames_times(
    vfr_clips: dict[str, Path],
) -> None:
    """A consumer taking 80 ms per frame keeps up at 10 fps and falls behind at 20 and 50 fps: frames are skipped,
    never shown early (the frame at 3.0 s waits out the pause) nor more than a frame late."""
    source = FrameSource(vfr_clips["mp4"], realtime=True)
    start, taken = None, []
    for stamp, frame in source:
        now = time.monotonic()
        start = now if start is None else start
        taken.append((stamp, frame_index(frame), source.frames_passed - 1, now - start))
        time.sleep(0.08)
    stamps, shown, passed, wall = (np.array(column) for column in zip(*taken, strict=True))
    assert (shown == passed).all() and shown[:20].tolist() == list(range(20)) and len(shown) < len(TIMES)
    np.testing.assert_allclose(stamps, TIMES[shown], atol=TIME_TOLERANCE, rtol=0)
    assert (wall >= stamps - 0.02).all()  # not before its time (the frame at 3.0 s is not shown at 1.4 s)
    assert (wall <= stamps + 1 / source.fps + 0.5).all()  # behind by a frame at most (0.5 s: a busy CPU)
    assert source.frames_passed == len(TIMES)


def test_analyze_video_rows_and_duration_use_the_frames_times(vfr_clips: dict[str, Path], tmp_path: Path) -> None:
    recognizer = EmotionRecognizer(model_path=MODEL)
    every_frame = recognizer.analyze_video(vfr_clips["mkv"], every=0, progress=False)
    assert len(every_frame) > len(TIMES) // 2
    np.testing.assert_allclose(every_frame["time"], TIMES[every_frame["frame"]], atol=TIME_TOLERANCE, rtol=0)
    annotated = tmp_path / "annotated.mp4"
    per_second = recognizer.analyze_video(vfr_clips["mp4"], progress=False, save_video=annotated)
    assert per_second["frame"].tolist() == [0, 10, 20, 40]  # the first frame of seconds 0, 1, 3 and 4
    np.testing.assert_allclose(per_second["time"], [0.0, 1.0, 3.0, 4.0], atol=TIME_TOLERANCE, rtol=0)
    fps = per_second.attrs["fps"]
    assert per_second.attrs["duration"] == pytest.approx(TIMES[-1] + 1 / fps, abs=TIME_TOLERANCE)
    frames, _ = read_video(annotated)
    assert_on_the_clock(frames, fps, TIMES[-1] + 1 / fps)


def test_the_apps_video_job_tables_the_frames_times(vfr_clips: dict[str, Path], tmp_path: Path) -> None:
    settings = AppSettings(work_dir=tmp_path / "work", max_upload_mb=5, max_video_minutes=1, every=0.0)
    with TestClient(create_app(settings, EmotionRecognizer(model_path=MODEL))) as client:
        started = client.post("/api/videos", params={"name": "vfr.mkv"}, content=vfr_clips["mkv"].read_bytes())
        assert started.status_code == 200, started.text
        deadline = time.monotonic() + 120
        while (job := client.get(f"/api/videos/{started.json()['job_id']}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.2)
        assert job["status"] == "done", job["error"]
        table = pd.DataFrame(job["table"])
        served = pd.read_csv(io.StringIO(client.get(f"/api/videos/{job['job_id']}/csv").text))
    for rows in (table, served):
        assert len(rows) > len(TIMES) // 2
        np.testing.assert_allclose(rows["time"], TIMES[rows["frame"]], atol=TIME_TOLERANCE, rtol=0)
    assert job["duration"] == pytest.approx(TIMES[-1] + 1 / FrameSource(vfr_clips["mkv"]).fps, abs=TIME_TOLERANCE)


@pytest.mark.parametrize("container", ["mp4", "mkv", "avi"])
def test_a_constant_rate_file_keeps_index_over_fps_to_the_last_bit(tmp_path: Path, container: str) -> None:
    """The shared MP4 (25 fps), its MKV remux (times stored in whole milliseconds: 0.04 s steps survive, but the
    positions read back carry float noise) and an MJPG AVI written by OpenCV: times are exactly i / fps."""
    if container == "mp4":
        path = SOURCE
    elif container == "mkv":
        path = tmp_path / "cfr.mkv"
        ffmpeg("-i", str(SOURCE), "-an", "-c:v", "copy", str(path))
    else:
        path = mjpg_avi(tmp_path / "cfr.avi", 60, SOURCE)
    source = FrameSource(path)
    stamps = [stamp for stamp, _ in source]
    assert source.fps == 25.0 and len(stamps) >= 60
    assert stamps == [index / 25.0 for index in range(len(stamps))]
    assert source.end_time == len(stamps) / 25.0


def test_a_constant_rate_file_logs_and_tables_the_same_times_as_before(tmp_path: Path) -> None:
    """29.97 fps in MKV: its container rounds every time to the millisecond (frame 75 at 2.503 s, not 2.5025 s); the
    rows still say round(frame / fps, 3), as they did (2.502 for frame 75)."""
    path = tmp_path / "ntsc.mkv"
    encoding = ["-frames:v", "80", "-r", "30000/1001", "-c:v", "libx264", "-preset", "ultrafast"]
    ffmpeg("-i", str(SOURCE), "-an", *encoding, str(path))
    df = EmotionRecognizer(model_path=MODEL).analyze_video(path, every=0, progress=False)
    fps = df.attrs["fps"]
    assert fps == pytest.approx(30000 / 1001) and 75 in df["frame"].tolist()
    assert df["time"].tolist() == [round(frame / fps, 3) for frame in df["frame"]]
    assert df.attrs["duration"] == df.attrs["frames"] / fps
