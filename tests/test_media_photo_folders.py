"""Folders of photos as users have them: files that cannot be opened (a link whose target is gone, a file without
read permission) and sub-folders that cannot be listed are reported and counted, never dropped, and never stop the
run; a path that is neither a file nor a folder (a named pipe, a device) is named for what it is."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks.analyze_videos import find_videos
from facial_emotion.tasks.evaluate_faces import run as run_evaluate_faces
from facial_emotion.tasks.predict_image import run as run_predict_image
from facial_emotion.video.image_files import find_images, read_bgr_or_reason
from tests.conftest import CONFIG_DIR

HAPPY = PROJECT_ROOT.parent / "shared" / "faces" / "nimstim" / "Happy"
pytestmark = pytest.mark.skipif(not HAPPY.is_dir(), reason=f"real face photos not found in {HAPPY}")
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root reads a file whatever its permissions


def photos_with_unopenable_files(folder: Path) -> Path:
    """`folder/Happy`: a real photo, a link to a photo that is gone and (not as root) a photo nobody may read."""
    happy = folder / "Happy"
    happy.mkdir(parents=True)
    shutil.copy(sorted(HAPPY.iterdir())[0], happy / "face.jpg")
    (happy / "gone.jpg").symlink_to(folder / "deleted.jpg")
    if not AS_ROOT:
        shutil.copy(sorted(HAPPY.iterdir())[1], happy / "locked.jpg")
        (happy / "locked.jpg").chmod(0)
    return happy


def test_a_broken_link_is_listed_and_read_as_unreadable_with_the_reason(tmp_path: Path) -> None:
    happy = photos_with_unopenable_files(tmp_path)
    images, others, unlistable = find_images(happy)
    assert happy / "gone.jpg" in images and others == [] and unlistable == []
    assert read_bgr_or_reason(happy / "gone.jpg") == (None, "No such file or directory")
    image, reason = read_bgr_or_reason(happy / "face.jpg")
    assert image is not None and image.ndim == 3 and reason == ""


def test_predict_image_reports_files_it_cannot_open_and_goes_on(tmp_path: Path, capsys) -> None:
    happy = photos_with_unopenable_files(tmp_path)
    log = tmp_path / "faces.csv"
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={happy}", "tta=center", f"log={log}"])
    run_predict_image(cfg)
    lines = capsys.readouterr().out.splitlines()
    assert "gone.jpg : unreadable image (No such file or directory)" in lines
    assert any(line.startswith("face.jpg : Happy , ") for line in lines)
    rows = pd.read_csv(log, keep_default_na=False)
    assert rows["file"].tolist() == sorted(path.name for path in happy.iterdir())
    assert rows.set_index("file").loc["gone.jpg", "emotion"] == ""
    if not AS_ROOT:
        assert "locked.jpg : unreadable image (Permission denied)" in lines


def test_predict_image_on_one_file_it_cannot_open_says_why_in_one_line(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = photos_with_unopenable_files(tmp_path) / "locked.jpg"
    if AS_ROOT:  # root opens any file whatever its permissions (CI runs as root): the open fails as for a user
        shutil.copy(sorted(HAPPY.iterdir())[1], locked)

        def refused(path: Path) -> None:
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr("facial_emotion.video.image_files.read_bgr", refused)
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={locked}", "tta=center"])
    with pytest.raises(SystemExit) as stopped:
        run_predict_image(cfg)
    output = capsys.readouterr()
    assert stopped.value.code == 2 and output.out == ""
    assert output.err == f"error: {locked} could not be read: Permission denied\n"


def test_evaluate_faces_counts_files_it_cannot_open_as_unreadable(tmp_path: Path, capsys) -> None:
    photos_with_unopenable_files(tmp_path)
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="evaluate_faces", overrides=[f"path={tmp_path}", "tta=center"])
    assert run_evaluate_faces(cfg) == 0
    out = capsys.readouterr().out
    unreadable = ["Happy/gone.jpg"] + ([] if AS_ROOT else ["Happy/locked.jpg"])
    assert f"Unreadable images (not counted): {len(unreadable)}: {', '.join(unreadable)}" in out
    assert "Accuracy exact: 100.00% (1 images" in out


def test_photos_behind_a_link_to_a_folder_are_found_once_and_a_loop_ends(tmp_path: Path, capsys) -> None:
    elsewhere, photos = tmp_path / "elsewhere", tmp_path / "photos"
    elsewhere.mkdir()
    photos.mkdir()
    shutil.copy(sorted(HAPPY.iterdir())[0], elsewhere / "face.jpg")
    (photos / "2024").symlink_to(elsewhere)  # a year's photos kept on another disk
    (elsewhere / "up").symlink_to(photos)  # ... with a link back: photos/2024/up/2024/up/...
    assert find_images(photos) == ([photos / "2024" / "face.jpg"], [], [])
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={photos}", "tta=center"])
    run_predict_image(cfg)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("2024/face.jpg : Happy , ")


def test_annotated_copies_inside_the_photo_folder_are_not_read_again(tmp_path: Path, capsys) -> None:
    photos, log = tmp_path / "photos", tmp_path / "faces.csv"
    photos.mkdir()
    shutil.copy(sorted(HAPPY.iterdir())[0], photos / "face.jpg")
    overrides = [f"path={photos}", f"save_dir={photos / 'annotated'}", "tta=center", f"log={log}"]
    for run in range(3):  # the same command again, as a user reruns it
        with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
            run_predict_image(compose(config_name="predict_image", overrides=overrides))
        lines = capsys.readouterr().out.splitlines()
        faces = [line for line in lines if " : " in line]
        assert len(faces) == 1 and faces[0].startswith("face.jpg : Happy , "), lines
        assert pd.read_csv(log)["file"].tolist() == ["face.jpg"]
        assert ("Left out 1 image(s) under save_dir=" in lines[0]) is (run > 0)
    assert sorted(p.relative_to(photos).as_posix() for p in photos.rglob("*.jpg")) == ["annotated/face.jpg", "face.jpg"]


def test_ctrl_c_stops_a_folder_with_one_line_and_keeps_the_log(tmp_path: Path) -> None:
    log = tmp_path / "faces.csv"
    script = [sys.executable, str(PROJECT_ROOT / "scripts" / "predict_image.py"), f"path={HAPPY}", f"log={log}"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment) as run:
        first = run.stdout.readline()  # the first photo is done
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    names = [line.split(" : ")[0] for line in [first, *out.splitlines()]]  # a line per face
    done, total = len(dict.fromkeys(names)), len(list(HAPPY.iterdir()))
    assert run.returncode == 130 and err == f"Stopped after {done} of {total} images; {log} holds their rows\n"
    assert done < total and pd.read_csv(log)["file"].tolist() == names


# Root lists any folder whatever its permissions: its scripts then run without the two capabilities that allow it.
WITHOUT_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if AS_ROOT else []


def run_script(name: str, *overrides: str) -> subprocess.CompletedProcess:
    """`python scripts/<name>.py overrides...` as a user runs it (as root: one whom permissions apply to)."""
    command = [*WITHOUT_OVERRIDE, sys.executable, str(PROJECT_ROOT / "scripts" / f"{name}.py"), *overrides]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture
def locked_folder(tmp_path: Path) -> Iterator[Path]:
    """`faces/Happy/private/`, holding a photo, that nobody may list; `faces/Happy/face.jpg` beside it."""
    happy = tmp_path / "faces" / "Happy"
    (happy / "private").mkdir(parents=True)
    shutil.copy(sorted(HAPPY.iterdir())[0], happy / "face.jpg")
    shutil.copy(sorted(HAPPY.iterdir())[1], happy / "private" / "hidden.jpg")
    (happy / "private").chmod(0)
    try:
        listing = subprocess.run([*WITHOUT_OVERRIDE, "ls", happy / "private"], capture_output=True, timeout=30)
    except OSError:  # no setpriv
        listing = None
    if listing is None or listing.returncode == 0:
        (happy / "private").chmod(0o755)
        pytest.skip("cannot make a folder unlistable here (root, and setpriv cannot drop CAP_DAC_OVERRIDE)")
    yield happy / "private"
    (happy / "private").chmod(0o755)  # so that pytest can remove it


def test_a_video_folder_that_cannot_be_listed_is_named_and_the_rest_found(locked_folder: Path) -> None:
    """analyze_videos.py `videos=<folder>`: the folder it cannot list is one line on stderr, the others searched."""
    faces = locked_folder.parent.parent
    clip = shutil.copy(PROJECT_ROOT / "results" / "preprocessing_test" / "input_video.mp4", faces / "clip.mp4")
    code = f"from facial_emotion.tasks.analyze_videos import find_videos; print(find_videos({str(faces)!r}))"
    found = subprocess.run(
        [*WITHOUT_OVERRIDE, sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == repr([Path(clip)])
    assert found.stderr.splitlines() == [
        f"{locked_folder}/ : unreadable folder (Permission denied); its videos are skipped"
    ]


def test_a_folder_that_cannot_be_listed_is_reported_by_both_scripts(locked_folder: Path) -> None:
    faces = locked_folder.parent.parent
    predicted = run_script("predict_image", f"path={faces}", "tta=center")
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.splitlines()
    assert lines[0] == "Happy/private/ : unreadable folder (Permission denied)"
    assert len(lines) == 2 and lines[1].startswith("Happy/face.jpg : Happy , ")

    evaluated = run_script("evaluate_faces", f"path={faces}", "tta=center")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "Unreadable folders (their photos not counted): 1: Happy/private (Permission denied)" in evaluated.stdout
    assert "Accuracy exact: 100.00% (1 images" in evaluated.stdout

    alone = run_script("predict_image", f"path={locked_folder}")
    assert alone.returncode == 2 and alone.stdout == ""
    assert alone.stderr == f"error: cannot list the folder {locked_folder} (Permission denied)\n"
    if not AS_ROOT:
        assert find_images(faces).unlistable == [(locked_folder, "Permission denied")]


@pytest.mark.parametrize("kind", ["named pipe", "device"])
def test_a_path_that_is_no_file_or_folder_says_what_it_is(tmp_path: Path, kind: str, capsys) -> None:
    if kind == "named pipe":
        path, said = tmp_path / "photo.jpg", "a named pipe (FIFO)"
        os.mkfifo(path)  # nothing may open it: with no writer that would wait for ever
    else:
        path, said = Path("/dev/null"), "a character device"
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        predicting = compose(config_name="predict_image", overrides=[f"path={path}"])
        evaluating = compose(config_name="evaluate_faces", overrides=[f"path={path}"])
    with pytest.raises(SystemExit) as exited:
        run_predict_image(predicting)
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"error: {path} is not a regular file or folder: it is {said}\n"
    assert run_evaluate_faces(evaluating) == 2
    assert capsys.readouterr().err == f"error: {path} is not a regular file or folder: it is {said}\n"


def test_a_named_pipe_inside_a_photo_folder_is_listed_as_skipped_not_read(tmp_path: Path, capsys) -> None:
    """A pipe named like a photo is never opened (that would wait for a writer for ever); both scripts name it."""
    happy = tmp_path / "Happy"
    happy.mkdir()
    shutil.copy(sorted(HAPPY.iterdir())[0], happy / "face.jpg")
    os.mkfifo(happy / "pipe.jpg")
    os.mkfifo(happy / "queue")
    assert find_images(happy) == ([happy / "face.jpg"], [happy / "pipe.jpg", happy / "queue"], [])
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        predicting = compose(config_name="predict_image", overrides=[f"path={happy}", "tta=center"])
        evaluating = compose(config_name="evaluate_faces", overrides=[f"path={tmp_path}", "tta=center"])
    run_predict_image(predicting)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Skipped 2 file(s) that are not images (") and lines[0].endswith(": pipe.jpg, queue")
    assert len(lines) == 2 and lines[1].startswith("face.jpg : Happy , ")
    assert run_evaluate_faces(evaluating) == 0
    out = capsys.readouterr().out
    assert "Happy/pipe.jpg, Happy/queue" in out and "Accuracy exact: 100.00% (1 images" in out


def test_a_video_name_that_is_no_file_is_named_and_skipped(tmp_path: Path, capsys) -> None:
    """analyze_videos.py `videos=<folder>`: a named pipe or a broken link named like a video is never opened."""
    clip = Path(shutil.copy(PROJECT_ROOT / "results" / "preprocessing_test" / "input_video.mp4", tmp_path / "a.mp4"))
    os.mkfifo(tmp_path / "b.mp4")
    (tmp_path / "c.mp4").symlink_to(tmp_path / "deleted.mp4")
    assert find_videos(str(tmp_path)) == [clip]
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'b.mp4'} : a named pipe (FIFO), not a video file; skipped",
        f"{tmp_path / 'c.mp4'} : a link to a file that is gone, not a video file; skipped",
    ]
