"""The video scripts end to end, as a user runs them: real MTCNN, the committed model, real videos."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.adversarial.face_io import read_face_png, save_face_png
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks import benchmark_video, predict_live_stream, preprocess
from facial_emotion.tasks.analyze_videos import analyze_one_video
from facial_emotion.video.display import why_no_window
from facial_emotion.video.sinks import check_video_target
from tests.conftest import CONFIG_DIR

SHARED_VIDEOS = PROJECT_ROOT.parent / "shared" / "videos"
SHORT_VIDEO = SHARED_VIDEOS / "videoretalking_face5.mp4"  # 4.9 s, one face
MODEL = PROJECT_ROOT / "results" / "model" / "my_own_model.pkl"
EMOTION_LINE = re.compile(r"^\d{2}:\d{2}:\d{2}s : (Angry|Disgust|Fear|Happy|Sad|Surprise|Neutral) , \d{1,3}%$")

TASKS = {
    "preprocess": preprocess.run,
    "predict_live_stream": predict_live_stream.run,
    "benchmark_video": benchmark_video.run,
}
run_preprocess = preprocess.run

pytestmark = pytest.mark.skipif(not SHORT_VIDEO.is_file(), reason=f"real face video not found: {SHORT_VIDEO}")


def run_script(name: str, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / name), *overrides],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )


def live_stream(*overrides: str) -> subprocess.CompletedProcess:
    return run_script(
        "predict_live_stream.py",
        "max_seconds=3",
        "show=false",
        "realtime=false",
        f"model_path={MODEL}",
        *overrides,
    )


def test_preprocess_writes_one_face_per_second(tmp_path: Path) -> None:
    result = run_script("preprocess.py", f"video={SHORT_VIDEO}", f"output_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [f"image{i}.png" for i in range(5)]


def test_live_stream_prints_one_emotion_line_per_second(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    result = live_stream(f"source={SHORT_VIDEO}", f"log={log}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Reading video stream ...")
    emotion_lines = [line for line in lines if EMOTION_LINE.match(line)]
    assert [line[:9] for line in emotion_lines] == ["00:00:00s", "00:00:01s", "00:00:02s"]
    assert lines.count("Preprocessing ...") == 3
    rows = log.read_text().splitlines()
    assert rows[0].split(",")[:6] == ["time", "face", "x", "y", "w", "h"] and len(rows) > 60


def test_live_stream_falls_back_to_the_test_video_without_a_camera() -> None:
    result = live_stream("source=99")
    assert result.returncode == 0, result.stderr
    assert "camera 99 could not be opened" in result.stdout and "falling back to" in result.stdout
    assert sum(bool(EMOTION_LINE.match(line)) for line in result.stdout.splitlines()) == 3


def test_live_stream_says_why_it_shows_no_window() -> None:
    """A laptop has a display but, with opencv-python-headless, no OpenCV window: the line says which and what to do."""
    headless_build = "  Video I/O:\n  GUI:                           NONE\n"
    assert why_no_window({}, headless_build) == "no display" or not sys.platform.startswith("linux")
    assert "pip install opencv-python" in why_no_window({"DISPLAY": ":0"}, headless_build)
    assert why_no_window({"DISPLAY": ":0"}, "  GUI:                           GTK3\n") is None
    result = live_stream(f"source={SHORT_VIDEO}", "show=true", "max_seconds=1")
    assert result.returncode == 0, result.stderr
    expected = why_no_window()
    if expected is not None:  # a test machine with a display and a GUI OpenCV opens the window instead
        assert f"Not showing the stream: {expected} (show=false hides this line)" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "video file not found"),
        (b"", "video file is empty"),
        (b"plain text\n" * 100, "not a readable video"),
    ],
    ids=["missing", "empty", "text-renamed-mp4"],
)
def test_live_stream_rejects_bad_input_in_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    result = live_stream(f"source={path}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr


def test_live_stream_refuses_to_save_onto_its_own_video(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(SHORT_VIDEO.read_bytes())
    result = live_stream(f"source={video}", f"save_video={video}")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "is the video being read" in result.stderr and video.read_bytes() == SHORT_VIDEO.read_bytes()


def test_benchmark_video_prints_backend_threads_and_detection_overlap_for_three_clips_side_by_side() -> None:
    videos = PROJECT_ROOT.parent / "shared" / "videos"
    if not videos.is_dir():
        pytest.skip(f"real face videos not found in {videos}")
    clips = [videos / name for name in ("liveportrait_d18.mp4", "liveportrait_d19.mp4", "videoretalking_face3.mp4")]
    result = subprocess.run(
        [
            sys.executable,
            "scripts/benchmark_video.py",
            f"video={clips[0]}",
            f"side_by_side=[{clips[1]},{clips[2]}]",
            "max_frames=25",
            "warmup_frames=5",
            "backend=onnxruntime",
            "threads=1",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "backend onnxruntime, precision fp32" in result.stdout and "threads 1" in result.stdout
    faces_per_frame = float(result.stdout.split(" faces/frame")[0].rsplit(", ", 1)[-1])
    assert faces_per_frame > 2.5  # three clips, three faces
    assert "a detection was running during" in result.stdout


def compose_script(name: str, *overrides: str):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        return compose(config_name=name, overrides=list(overrides))


def test_preprocess_leaves_only_this_videos_faces(tmp_path: Path, capsys) -> None:
    old = np.full((48, 48), 7, np.uint8)
    for index in range(20):  # an earlier run on a longer video
        save_face_png(old, tmp_path / f"image{index}.png")
    (tmp_path / "notes.txt").write_text("the user's own file")
    run_preprocess(compose_script("preprocess", f"video={SHORT_VIDEO}", f"output_dir={tmp_path}"))
    assert "Removed 20 face images of an earlier run" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"image{i}.png" for i in range(5)] + ["notes.txt"]
    assert all(not np.array_equal(read_face_png(p), old) for p in tmp_path.glob("image*.png"))


def test_preprocess_never_deletes_or_overwrites_a_users_own_image1_png(tmp_path: Path, capsys) -> None:
    save_face_png(np.full((48, 48), 7, np.uint8), tmp_path / "image0.png")  # an earlier run's face
    photo = cv2.imencode(".png", np.full((300, 200, 3), 90, np.uint8))[1].tobytes()
    (tmp_path / "image1.png").write_bytes(photo)  # the user's own, as apps name pasted images
    with pytest.raises(SystemExit) as stopped:
        run_preprocess(compose_script("preprocess", f"video={SHORT_VIDEO}", f"output_dir={tmp_path}"))
    error = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and error == (
        f"error: output_dir={tmp_path} holds image1.png, not a 48x48 face of an earlier run (this run would write "
        "over it): choose another folder"
    )
    assert (tmp_path / "image1.png").read_bytes() == photo and sorted(p.name for p in tmp_path.iterdir()) == [
        "image0.png",
        "image1.png",
    ]


@pytest.mark.parametrize(
    ("script", "overrides", "message"),
    [
        ("preprocess", ["output_dir={file}"], "output_dir must be a folder"),
        ("preprocess", ["tries_per_second=abc"], "tries_per_second must be a whole number"),
        ("predict_live_stream", ["max_seconds=-1"], "max_seconds must be a number > 0"),
        ("predict_live_stream", ["realtime=maybe"], "realtime must be true or false"),
        ("predict_live_stream", ["save_video={folder}"], "cannot write a video to .*: it is a folder"),
        ("predict_live_stream", ["save_video=/proc/x.mp4"], "cannot write a video to /proc/x.mp4: "),
        (
            "predict_live_stream",
            ["log={folder}/faces.csv"],
            "^error: cannot write the log .*/faces.csv: Is a directory$",
        ),
        ("predict_live_stream", ["log=/proc/x.csv"], "^error: cannot write the log /proc/x.csv: No such file"),
        ("benchmark_video", ["width=0"], "width must be a whole number >= 1"),
        # face_pipeline.*: a traceback, a silent "no face detected" in every frame, a "maybe" read as yes
        (
            "predict_live_stream",
            ["face_pipeline.detect_every=abc"],
            "detect_every must be a whole number >= 1, got 'abc'",
        ),
        (
            "predict_live_stream",
            ["face_pipeline.detector.max_side=-5"],
            "max_side must be a whole number >= 12, got -5",
        ),
        ("predict_live_stream", ["face_pipeline.async_detection=maybe"], "async_detection must be true or false"),
        ("benchmark_video", ["face_pipeline.smoother.alpha=2"], "smoother.alpha must be a number >= 0 and <= 1, got 2"),
        ("preprocess", ["face_pipeline.cropper.method=boxx"], "cropper.method must be null, landmarks or box"),
        ("benchmark_video", ["max_frames=5"], "max_frames must be a whole number > 10"),
    ],
)
def test_bad_options_are_one_line_errors_before_any_work(
    tmp_path: Path, capsys, script: str, overrides: list[str], message: str
) -> None:
    (tmp_path / "file").write_text("a file")
    (tmp_path / "folder").mkdir()
    if "log={folder}/faces.csv" in overrides:  # a folder where the log should be
        (tmp_path / "folder" / "faces.csv").mkdir()
    filled = [o.format(file=tmp_path / "file", folder=tmp_path / "folder") for o in overrides]
    video_option = "source" if script == "predict_live_stream" else "video"
    cfg = compose_script(script, f"{video_option}={SHORT_VIDEO}", *filled)
    if script == "benchmark_video":
        assert TASKS[script](cfg) == 2
        error = capsys.readouterr().err
    else:
        with pytest.raises(SystemExit) as stopped:
            TASKS[script](cfg)
        assert stopped.value.code == 2
        error = capsys.readouterr().err
    assert re.search(message, error) and "\n" not in error.strip(), error
    assert [p.name for p in (tmp_path / "folder").rglob("*")] in ([], ["faces.csv"])  # nothing written


def test_analyze_videos_records_a_bad_option_as_that_videos_error(tmp_path: Path) -> None:
    cfg = compose_script("analyze_videos", f"video={SHORT_VIDEO}", "every=-1")
    cfg.output_dir = str(tmp_path)
    record = analyze_one_video(cfg)
    assert "every must be a number >= 0" in record["error"]
    assert json.loads((tmp_path / "analysis.json").read_text())["error"] == record["error"]


@pytest.mark.parametrize("suffix", [".webm", ".gif", ""])
def test_a_video_suffix_opencv_cannot_write_is_one_line_without_ffmpegs_own(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], suffix: str
) -> None:
    """FFmpeg printed its reasons ("Only VP8 or VP9 ... are supported for WebM", an OpenCV assertion) above the
    error line."""
    target = tmp_path / f"out{suffix}"
    with pytest.raises(OSError, match=rf"^cannot write a video to .*out{suffix} \(OpenCV has no writer for .*\.mkv\)$"):
        check_video_target(target)
    assert capfd.readouterr().err == ""
    assert not target.exists()
    check_video_target(tmp_path / "out.mp4")  # a container it writes: no error, nothing left behind
    assert list(tmp_path.iterdir()) == []
