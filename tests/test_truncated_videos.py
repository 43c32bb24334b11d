"""A video file cut off half way (its header still states the full length): every consumer keeps the frames read and
says, in one stderr line naming the file and the frame, that the rest is missing; an intact file says nothing."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import imageio_ffmpeg
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.api import EmotionRecognizer
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks import predict_live_stream, preprocess
from facial_emotion.video.frame_source import FrameSource
from tests.app_support import mjpg_avi, truncated_avi
from tests.conftest import CONFIG_DIR

SHARED_VIDEOS = PROJECT_ROOT.parent / "shared" / "videos"
SOURCE = SHARED_VIDEOS / "videoretalking_face5.mp4"  # 25 fps, one face
VFR_SOURCE = SHARED_VIDEOS / "videoretalking_face1.mp4"  # variable frame rate: 135 frames over 6.1 s
MODEL = PROJECT_ROOT / "results" / "model" / "my_own_model.pkl"
FRAMES = 75  # 3 s at 25 fps
WARNING = re.compile(r"^warning: (.+): no frame could be read after frame (\d+) of (\d+) \(time ([\d.]+) s\): ")

pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"real face video not found: {SOURCE}")


@pytest.fixture
def truncated(tmp_path: Path) -> Path:
    """An AVI of 75 frames with its bytes cut at half: OpenCV opens it and still states 75 frames."""
    return truncated_avi(tmp_path / "clip.avi", FRAMES, SOURCE)


def one_warning(stderr: str, path: Path) -> tuple[int, float]:
    """The frame and time of the single warning line about `path`."""
    lines = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1, stderr
    match = WARNING.match(lines[0])
    assert match and match[1] == str(path) and int(match[3]) == FRAMES, lines[0]
    assert "the file looks truncated; results cover 0-" in lines[0]
    return int(match[2]), float(match[4])


def compose_script(name: str, *overrides: str):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        return compose(config_name=name, overrides=list(overrides))


def run_live_stream(source: Path, log: Path) -> None:
    cfg = compose_script(
        "predict_live_stream", f"source={source}", "realtime=false", "show=false", f"log={log}", f"model_path={MODEL}"
    )
    predict_live_stream.run(cfg)


def test_live_stream_on_a_truncated_file_keeps_its_log_and_names_the_last_frame(
    truncated: Path, tmp_path: Path, capsys
) -> None:
    log = tmp_path / "log.csv"
    run_live_stream(truncated, log)
    out, err = capsys.readouterr()
    frame, time = one_warning(err, truncated)
    assert 20 < frame < 60 and time == pytest.approx(frame / 25, abs=0.05)
    assert "Traceback" not in err
    seconds = [line[:9] for line in out.splitlines() if re.match(r"^\d{2}:\d{2}:\d{2}s : ", line)]
    assert seconds == [f"00:00:0{s}s" for s in range(int(time) + 1)]  # one line per second read
    rows = pd.read_csv(log)
    assert rows["time"].max() == pytest.approx((frame - 1) / 25, abs=1e-3)  # every frame read is logged


def test_preprocess_of_a_truncated_file_writes_the_faces_read(truncated: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "faces"
    output.mkdir()
    preprocess.run(compose_script("preprocess", f"video={truncated}", f"output_dir={output}"))
    frame, time = one_warning(capsys.readouterr().err, truncated)
    assert sorted(p.name for p in output.glob("*.png")) == [f"image{s}.png" for s in range(int((frame - 1) / 25) + 1)]


def test_analyze_video_reports_a_truncated_file_in_its_attrs(truncated: Path, capsys) -> None:
    df = EmotionRecognizer(model_path=MODEL).analyze_video(truncated, every=0, progress=False)
    frame, _ = one_warning(capsys.readouterr().err, truncated)
    assert df.attrs["warning"] == f"{truncated}: " + df.attrs["warning"].split(": ", 1)[1]
    assert f"after frame {frame} of {FRAMES}" in df.attrs["warning"]
    assert df.attrs["frames"] == frame and df["frame"].max() == frame - 1


def test_a_truncated_file_played_in_real_time_names_the_same_frame_when_frames_are_skipped(
    truncated: Path, capsys
) -> None:
    frames = sum(1 for _ in FrameSource(truncated))
    assert one_warning(capsys.readouterr().err, truncated)[0] == frames
    taken = 0
    for _ in FrameSource(truncated, realtime=True):  # 0.1 s per frame at 25 fps: most frames are skipped
        taken += 1
        time.sleep(0.1)
    assert taken < frames // 2 and one_warning(capsys.readouterr().err, truncated)[0] == frames


def test_an_intact_file_gives_no_warning(tmp_path: Path, capsys) -> None:
    intact = mjpg_avi(tmp_path / "clip.avi", FRAMES, SOURCE)
    log = tmp_path / "log.csv"
    run_live_stream(intact, log)
    assert "warning" not in capsys.readouterr().err
    assert pd.read_csv(log)["time"].max() == pytest.approx((FRAMES - 1) / 25, abs=1e-3)


@pytest.mark.skipif(not VFR_SOURCE.is_file(), reason=f"real face video not found: {VFR_SOURCE}")
def test_a_variable_frame_rate_file_that_states_more_frames_than_it_holds_is_not_truncated(
    tmp_path: Path, capsys
) -> None:
    """Re-encoded to MKV, the 22.1 fps clip states 184 frames at 30 fps and holds 135 that span the whole 6.1 s."""
    path = tmp_path / "vfr.mkv"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(VFR_SOURCE), "-an"]
    subprocess.run([*command, "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True, timeout=60)
    source = FrameSource(path)
    assert source.frame_count == 184
    assert sum(1 for _ in source) == 135
    assert source.warning is None and "warning" not in capsys.readouterr().err
