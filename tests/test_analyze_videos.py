"""scripts/analyze_videos.py: one Hydra run per video (basic and submitit_local launchers) and the summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks.analyze_videos import InputError, analyze_one_video, sweep_arguments, write_summary
from tests.app_support import truncated_avi
from tests.conftest import CONFIG_DIR
from tests.test_api import cut_clip

SHARED_VIDEOS = PROJECT_ROOT.parent / "shared" / "videos"
SOURCES = {"face5": SHARED_VIDEOS / "videoretalking_face5.mp4", "d18": SHARED_VIDEOS / "liveportrait_d18.mp4"}
EMOTIONS = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]

needs_videos = pytest.mark.skipif(
    not all(p.is_file() for p in SOURCES.values()), reason=f"real face videos not found in {SHARED_VIDEOS}"
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A second of each of two real videos (25 and 30 fps)."""
    folder = tmp_path_factory.mktemp("clips")
    return [cut_clip(SOURCES["face5"], folder / "face5.mp4", 25), cut_clip(SOURCES["d18"], folder / "d18.mp4", 30)]


def analyze_videos(*overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "analyze_videos.py"), *overrides, "progress=false"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
    )


SUMMARY_COLUMNS = ["video", "duration", "frames", "faces", "rows", *EMOTIONS, "error", "run_dir"]


def assert_runs(summary: pd.DataFrame, clips: list[Path]) -> None:
    """One summary row per video, and each run folder holds its CSV, timeline PNG and record."""
    assert list(summary["video"]) == [str(clip) for clip in clips]
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["error"].isna().all()
    assert list(summary["frames"]) == [25, 30][: len(clips)] and (summary["duration"] == 1.0).all()
    for row in summary.itertuples():
        run = Path(row.run_dir)
        table = pd.read_csv(run / "emotions.csv")
        assert list(table["time"].unique()) == [0.0] and (table["face_id"] >= 1).all()  # every=1.0: 1 s, 1 row
        assert row.rows == len(table) and row.faces == table["face_id"].nunique() >= 1
        shares = table["label"].value_counts(normalize=True)
        assert [getattr(row, name) for name in EMOTIONS] == pytest.approx([shares.get(n, 0.0) for n in EMOTIONS])
        assert (run / "timeline.png").read_bytes()[:4] == b"\x89PNG"
        assert json.loads((run / "analysis.json").read_text())["video"] == row.video


def test_videos_folder_or_glob_becomes_a_sweep_over_files(tmp_path: Path) -> None:
    for name in ("b.mp4", "a,1.mp4", "notes.txt", "sub/c.MOV", "._b.mp4", "sub/.c.mov"):  # hidden: macOS metadata
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path.parent / f"{tmp_path.name}_2024").mkdir()
    (tmp_path.parent / f"{tmp_path.name}_2024" / "d.mkv").write_bytes(b"x")
    (tmp_path / "2024").symlink_to(tmp_path.parent / f"{tmp_path.name}_2024")  # a year's clips on another disk
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a link back up: searched once
    folder = sweep_arguments(["analyze_videos.py", f"videos={tmp_path}", "every=2"])
    assert folder == ["analyze_videos.py", "--multirun", "every=2", f"video='{tmp_path}/2024/d.mkv',"
                      f"'{tmp_path}/a,1.mp4','{tmp_path}/b.mp4','{tmp_path}/sub/c.MOV'"]  # fmt: skip
    pattern = sweep_arguments(["analyze_videos.py", "-m", f"videos={tmp_path}/b*.mp4"])
    assert pattern == ["analyze_videos.py", "-m", f"video='{tmp_path}/b.mp4'"]
    unchanged = ["analyze_videos.py", "-m", "video=a.mp4,b.mp4"]
    assert sweep_arguments(unchanged) == unchanged
    with pytest.raises(InputError, match=r"no video files .* match videos=.*\*\.avi"):
        sweep_arguments(["analyze_videos.py", f"videos={tmp_path}/*.avi"])
    for question in (["--cfg", "job"], ["--help"], ["--info"]):  # Hydra answers them for one run: the first file's
        asked = sweep_arguments(["analyze_videos.py", f"videos={tmp_path}/*.mp4", *question])
        assert asked == ["analyze_videos.py", *question, f"video='{tmp_path}/a,1.mp4'"]
    with pytest.raises(InputError, match="give video=PATH"):
        sweep_arguments(["analyze_videos.py", "every=2"])


@needs_videos
@pytest.mark.parametrize(
    ("overrides", "message"),
    [(["videos={tmp}"], "error: no video files"), (["every=2"], "error: give video=PATH")],
    ids=["empty-folder", "no-video"],
)
def test_bad_arguments_give_one_line_errors(tmp_path: Path, overrides: list[str], message: str) -> None:
    result = analyze_videos(*(o.format(tmp=tmp_path) for o in overrides))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(message), result.stderr


@needs_videos
def test_a_single_run_writes_its_table_timeline_and_summary(tmp_path: Path, clips: list[Path]) -> None:
    result = analyze_videos(f"video={clips[0]}", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert_runs(summary, clips[:1])
    assert summary["run_dir"].tolist() == [str(tmp_path)]


@needs_videos
@pytest.mark.slow
def test_the_basic_launcher_keeps_the_other_videos_when_one_is_bad(tmp_path: Path, clips: list[Path]) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video\n")
    sweep_dir = tmp_path / "sweep"
    videos = ",".join(str(p) for p in [*clips, broken])
    result = analyze_videos("-m", f"video={videos}", f"hydra.sweep.dir={sweep_dir}")
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"error: {broken}: not a readable video (unknown format or no frames): {broken}" in result.stderr
    assert "Traceback" not in result.stderr
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert summary["error"].notna().tolist() == [False, False, True]
    assert_runs(summary.iloc[:2], clips)


@needs_videos
@pytest.mark.slow
def test_submitit_local_runs_each_video_as_its_own_job(tmp_path: Path, clips: list[Path]) -> None:
    sweep_dir = tmp_path / "sweep"
    result = analyze_videos(
        "-m", f"video={clips[0]},{clips[1]}", "hydra/launcher=submitit_local", f"hydra.sweep.dir={sweep_dir}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((sweep_dir / ".submitit").glob("*/*_result.pkl"))) == 2  # each video ran as its own job
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert_runs(summary, clips)
    assert [Path(run).name for run in summary["run_dir"]] == ["0", "1"]


@needs_videos
def test_a_truncated_video_is_recorded_with_its_warning_and_the_summary_keeps_its_columns(
    tmp_path: Path, clips: list[Path], capsys
) -> None:
    cut = truncated_avi(tmp_path / "cut.avi", 50, SOURCES["face5"])  # 2 s at 25 fps, its bytes cut at half
    sweep = tmp_path / "sweep"
    for run, video in enumerate([cut, clips[0]]):
        with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
            cfg = compose(config_name="analyze_videos", overrides=[f"video={video}", "progress=false"])
        cfg.output_dir = str(sweep / str(run))
        analyze_one_video(cfg)
    records = [json.loads((sweep / str(run) / "analysis.json").read_text()) for run in (0, 1)]
    warning = records[0]["warning"]
    assert warning.startswith(f"{cut}: no frame could be read after frame {records[0]['frames']} of 50 ("), warning
    assert "the file looks truncated; results cover 0-" in warning and 10 < records[0]["frames"] < 40
    assert records[0]["error"] is None and records[1]["warning"] is None
    capsys.readouterr()
    summary = write_summary(sweep)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert list(pd.read_csv(sweep / "summary.csv").columns) == SUMMARY_COLUMNS
    assert summary["frames"].tolist() == [records[0]["frames"], 25]
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {warning} ({sweep / '0' / 'analysis.json'})"]
