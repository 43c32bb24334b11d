"""tools/face_set_accuracy.py: a photo set's accuracy from predict_image.py's CSV (largest face, missed = wrong)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd

from facial_emotion.data.locate import PROJECT_ROOT

TOOL = PROJECT_ROOT / "tools" / "face_set_accuracy.py"
HEADER = "file,face,x,y,w,h,Angry,Disgust,Fear,Happy,Sad,Surprise,Neutral,emotion\n"
PROBS = "0.1,0.1,0.1,0.4,0.1,0.1,0.1"


def load_tool():
    spec = importlib.util.spec_from_file_location("face_set_accuracy", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_largest_face_counts_and_a_missed_face_is_wrong(tmp_path: Path) -> None:
    log = tmp_path / "set.csv"
    log.write_text(
        HEADER
        + f"Happy/a.png,1,0,0,10,10,{PROBS},Sad\n"  # a small face in the background: ignored
        + f"Happy/a.png,2,5,5,80,80,{PROBS},Happy\n"
        + f"Happy/b.png,1,0,0,50,50,{PROBS},Neutral\n"
        + "Sad/c.png,,,,,,,,,,,,,\n"  # no face found
        + f"Sad/d.png,1,0,0,50,50,{PROBS},Sad\n"
    )
    tool = load_tool()
    photos = tool.photo_predictions(pd.read_csv(log)).set_index("file")
    assert photos["correct"].to_dict() == {
        "Happy/a.png": True,
        "Happy/b.png": False,
        "Sad/c.png": False,
        "Sad/d.png": True,
    }
    assert photos["found"].sum() == 3

    result = subprocess.run([sys.executable, str(TOOL), str(log)], capture_output=True, text=True, check=True)
    assert "images 4, faces found 3 (75.0%), accuracy 50.0% of all images, 66.7% of the found faces" in result.stdout
    assert "Sad        50.0%  (2 images, 1 found)" in result.stdout


def test_a_file_that_is_not_a_log_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    result = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "other.csv")], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "other.csv: not a predict_image.py log" in result.stderr
