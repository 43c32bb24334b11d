"""Videos as users have them, through `predict_live_stream.py realtime=false`: a face that leaves the picture and
comes back is followed frame by frame in the printed lines and the log, whatever the CPU's speed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks import predict_live_stream
from tests.conftest import CONFIG_DIR

SOURCE = PROJECT_ROOT.parent / "shared" / "videos" / "liveportrait_d18.mp4"  # 480x480, 30 fps, one face throughout
FPS = 30

pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"real face video not found: {SOURCE}")


def face_leaves_and_returns(path: Path) -> Path:
    """1 s of the talking head, 2 s of black, 1 s of the talking head again (frames 0-29 and 90-119)."""
    capture = cv2.VideoCapture(str(SOURCE))
    faces = [capture.read()[1] for _ in range(2 * FPS)]
    capture.release()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (480, 480))
    for frame in faces[:FPS] + [np.zeros_like(faces[0])] * (2 * FPS) + faces[FPS:]:
        writer.write(frame)
    writer.release()
    return path


def test_a_face_coming_back_into_view_is_found_on_the_frame_it_returns(tmp_path: Path, capsys) -> None:
    video, log = face_leaves_and_returns(tmp_path / "leaves.avi"), tmp_path / "faces.csv"
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        overrides = [f"source={video}", "realtime=false", "show=false", f"log={log}"]
        predict_live_stream.run(compose(config_name="predict_live_stream", overrides=overrides))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("00:00:0")]
    assert [line.split(" : ")[0] for line in lines] == ["00:00:00s", "00:00:01s", "00:00:02s", "00:00:03s"]
    assert [line.endswith("no face detected") for line in lines] == [False, True, True, False]
    frames = set((pd.read_csv(log)["time"] * FPS).round().astype(int))
    # Detections run every 3rd frame (frame 90 is one of them), at most every 9th while the face stays put.
    assert set(range(30)) <= frames and not frames & set(range(39, 90))
    assert set(range(90, 120)) <= frames


def test_a_file_played_in_real_time_gives_a_video_as_long_as_the_file(tmp_path: Path, capsys) -> None:
    """At 300 frames/s no CPU keeps up: frames are skipped, the last ones too, and the annotated video holds the frame
    before each gap, to the file's end."""
    video, annotated = tmp_path / "fast.avi", tmp_path / "annotated.mp4"
    capture = cv2.VideoCapture(str(SOURCE))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 300, (480, 480))
    for _ in range(60):
        writer.write(capture.read()[1])
    writer.release()
    capture.release()
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        overrides = [f"source={video}", "realtime=true", "show=false", f"save_video={annotated}"]
        predict_live_stream.run(compose(config_name="predict_live_stream", overrides=overrides))
    assert "00:00:00s : " in capsys.readouterr().out
    written = cv2.VideoCapture(str(annotated))
    frames = 0
    while written.read()[0]:
        frames += 1
    assert (frames, written.get(cv2.CAP_PROP_FPS)) == (60, 300)
    written.release()
