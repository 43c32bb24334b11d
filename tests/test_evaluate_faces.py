"""evaluate_faces (and predict_image) on tiny labelled folders: real photos (one as WebP), a photo without a face,
unreadable files, files that are not images, bad folders."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.tasks.evaluate_faces import run as run_evaluate_faces
from facial_emotion.tasks.predict_image import run as run_predict_image
from facial_emotion.video.image_files import IMAGE_KINDS
from tests.conftest import CONFIG_DIR

NIMSTIM = PROJECT_ROOT.parent / "shared" / "faces" / "nimstim"
requires_faces = pytest.mark.skipif(not NIMSTIM.is_dir(), reason=f"real face photos not found in {NIMSTIM}")


def evaluate(capsys: pytest.CaptureFixture, *overrides: str) -> tuple[int, str, str]:
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="evaluate_faces", overrides=list(overrides))
    status = run_evaluate_faces(cfg)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Happy: 2 real photos (the second as WebP) and a flat grey image (no face); Angry: 1 real photo (as a grey PGM,
    as older face datasets ship them), a broken file and a text file; Other: skipped."""
    root = tmp_path_factory.mktemp("faces") / "tiny"
    for label, count in (("Happy", 2), ("Angry", 1)):
        (root / label).mkdir(parents=True)
        for photo in sorted((NIMSTIM / label).iterdir())[:count]:
            shutil.copy(photo, root / label / photo.name)
    cv2.imwrite(str(root / "Happy" / "flat.png"), np.full((120, 100, 3), 128, np.uint8))
    (root / "Angry" / "broken.jpg").write_bytes(b"not an image")
    second = sorted((root / "Happy").glob("*.*"))[1]
    cv2.imwrite(str(second.with_suffix(".webp")), cv2.imread(str(second)))
    second.unlink()
    angry = root / "Angry" / sorted((NIMSTIM / "Angry").iterdir())[0].name
    cv2.imwrite(str(angry.with_suffix(".pgm")), cv2.imread(str(angry), cv2.IMREAD_GRAYSCALE))
    angry.unlink()
    (root / "Angry" / "notes.txt").write_text("not a photo")
    (root / "Angry" / ".DS_Store").write_bytes(b"\0")  # hidden: not worth a line
    (root / "Other").mkdir()
    return root


@requires_faces
def test_report_csv_and_table_on_a_tiny_folder(tiny_set: Path, tmp_path: Path, capsys) -> None:
    log, png, table = tmp_path / "faces.csv", tmp_path / "confusion.png", tmp_path / "real_faces.md"
    status, out, _ = evaluate(
        capsys, f"path={tiny_set}", f"log={log}", f"confusion_png={png}", f"table={table}", "tta=center"
    )
    assert status == 0
    lines = out.splitlines()
    assert "Skipped folders (not FER2013 class names): Other" in lines
    assert f"Skipped 1 file(s) that are not images ({IMAGE_KINDS}): Angry/notes.txt" in lines
    rows = pd.read_csv(log, keep_default_na=False)
    assert len(rows) == 5
    outcome = dict(zip(rows["file"], rows["outcome"], strict=True))
    assert outcome["Happy/flat.png"] == "no face" and outcome["Angry/broken.jpg"] == "unreadable"
    assert sum(value == "face" for value in outcome.values()) == 3  # the 3 real studio photos, WebP and PGM too
    readable = rows[rows["outcome"] != "unreadable"]
    expected = (readable["emotion"] == readable["label"]).mean()  # the face-less image counts as wrong
    assert lines[0] == f"Accuracy on faces: {100 * expected:.0f}%"
    assert "Faces found: 3 of 4 (75.0%)" in out and "Unreadable images (not counted): 1: Angry/broken.jpg" in out
    assert "No face found in 1: Happy/flat.png" in out
    faces = rows[rows["outcome"] == "face"]
    probabilities = faces[["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]].to_numpy(float)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)
    assert png.stat().st_size > 1000
    markdown = table.read_text()
    assert "| my_own_model_real_faces | tiny | detect | center | 5 | 75.0 |" in markdown
    assert "| my_own_model_real_faces | FER2013 test |" in markdown


@requires_faces
def test_predict_image_reads_webp_and_names_the_files_it_skips(tiny_set: Path, tmp_path: Path, capsys) -> None:
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={tiny_set / 'Angry'}", "tta=center"])
    run_predict_image(cfg)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Skipped 1 file(s) that are not images ({IMAGE_KINDS}): notes.txt"
    assert len(lines) == 3 and "broken.jpg : unreadable image" in lines[1:]
    assert any(line.endswith("%") and " , " in line for line in lines[1:])  # the real photo
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={tiny_set / 'Happy'}", "tta=center"])
    run_predict_image(cfg)
    webp = [line for line in capsys.readouterr().out.splitlines() if line.endswith("%") and ".webp :" in line]
    assert len(webp) == 1  # its face found and classified


@requires_faces
def test_predict_image_can_read_a_photo_without_a_face_whole(tiny_set: Path, tmp_path: Path, capsys) -> None:
    log = tmp_path / "faces.csv"
    overrides = [f"path={tiny_set / 'Happy'}", "tta=center", f"log={log}", "whole_image_if_no_face=true"]
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        run_predict_image(compose(config_name="predict_image", overrides=overrides))
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("flat.png : no face found, whole image : ") for line in lines) == 1
    rows = pd.read_csv(log, keep_default_na=False).set_index("file")
    assert rows.loc["flat.png", "face"] == 0
    # The 100x120 photo padded by 20% a side, its centre square read: all of the photo, the box clipped to it.
    assert rows.loc["flat.png", ["x", "y", "w", "h"]].astype(float).tolist() == [0.0, 0.0, 100.0, 120.0]
    probabilities = rows[["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]].to_numpy(float)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)
    assert (rows.drop(index="flat.png")["face"] == 1).all()  # the real photos: their detected faces, as before


@requires_faces
def test_paths_under_home_are_read_and_written_there(
    tiny_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Quoted, `~` reaches the scripts as is (Hydra does not expand it): inputs and outputs both go under $HOME."""
    home = tiny_set.parent
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    overrides = ['path="~/tiny/Angry"', "tta=center", 'log="~/out/faces.csv"', 'save_dir="~/out/annotated"']
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=overrides)
    run_predict_image(cfg)
    assert "broken.jpg : unreadable image" in capsys.readouterr().out.splitlines()
    assert len(pd.read_csv(home / "out" / "faces.csv")) == 2
    copies = list((home / "out" / "annotated").iterdir())  # the grey PGM's colour copy, as PNG beside its name
    assert [copy.name for copy in copies] == [next((tiny_set / "Angry").glob("*.pgm")).name + ".png"]
    assert cv2.imread(str(copies[0])).shape[2] == 3
    status, _, _ = evaluate(capsys, 'path="~/tiny"', "tta=center", 'log="~/out/set.csv"', 'confusion_png="~/out/c.png"')
    assert status == 0 and (home / "out" / "set.csv").is_file() and (home / "out" / "c.png").is_file()
    assert not (tmp_path / "~").exists()  # nothing went to a folder literally named "~"


@requires_faces
def test_given_crop_classifies_every_readable_image(tiny_set: Path, tmp_path: Path, capsys) -> None:
    log = tmp_path / "given.csv"
    status, out, _ = evaluate(capsys, f"path={tiny_set}", "crop=given", f"log={log}", "tta=center")
    assert status == 0
    rows = pd.read_csv(log, keep_default_na=False)
    assert (rows["outcome"] == "face").sum() == 4 and "Faces found" not in out


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "no such folder"),
        ("no_classes", "has no class folders"),
        ("unreadable", "could be read"),
        ("empty_classes", "hold no images"),
    ],
)
def test_bad_folders_are_one_line_errors(tmp_path: Path, capsys, layout: str, message: str) -> None:
    root = tmp_path / "set"
    if layout != "missing":
        (root / ("Holiday" if layout == "no_classes" else "Sad")).mkdir(parents=True)
    if layout in ("no_classes", "unreadable"):
        (next(root.iterdir()) / "a.png").write_bytes(b"\x89PNG broken")
    status, out, err = evaluate(capsys, f"path={root}")
    assert status == 2
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0]
    assert all(line.startswith(("error: ", "note: ")) for line in err.splitlines())  # no traceback


def test_outputs_are_checked_before_the_evaluation(tmp_path: Path, capsys) -> None:
    (tmp_path / "afile").write_text("a file where a folder should be")
    for option, message in [
        (f"confusion_png={tmp_path / 'cm.xyz'}", "matplotlib writes"),
        (f"log={tmp_path / 'afile' / 'x.csv'}", "log=.*cannot make its folder"),
        (f"table={tmp_path}", "is a folder"),
        ("given_pad=-0.5", "given_pad must be a number >= 0"),
    ]:
        status, out, err = evaluate(capsys, f"path={tmp_path / 'no-such-set'}", option)
        assert status == 2 and out == "" and re.search(message, err) and err.count("\n") == 1, err


@requires_faces
def test_predict_image_never_writes_over_its_photos(tiny_set: Path, tmp_path: Path, capsys) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(tiny_set / "Happy", photos)
    before = {path.name: path.read_bytes() for path in photos.iterdir()}
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={photos}", f"save_dir={photos}"])
    with pytest.raises(SystemExit) as stopped:
        run_predict_image(cfg)
    assert stopped.value.code == 2 and "would write the annotated copies over the photos" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in photos.iterdir()} == before


@requires_faces
def test_predict_image_fails_when_nothing_could_be_read(tmp_path: Path, capsys) -> None:
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not a photo")
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={tmp_path}", "tta=center"])
    with pytest.raises(SystemExit) as stopped:
        run_predict_image(cfg)
    output = capsys.readouterr()
    assert stopped.value.code == 2 and re.search("none of the 2 images under .* could be read", output.err)
    assert output.out.count(": unreadable image") == 2
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        one = compose(config_name="predict_image", overrides=[f"path={tmp_path / 'text.jpg'}", "tta=center"])
    with pytest.raises(SystemExit) as stopped:
        run_predict_image(one)
    output = capsys.readouterr()  # one line: the error alone, no `text.jpg : unreadable image` before it
    assert stopped.value.code == 2 and output.out == ""
    assert output.err == f"error: {tmp_path / 'text.jpg'} is not an image OpenCV can decode ({IMAGE_KINDS})\n"


@requires_faces
def test_predict_image_reads_no_as_no(tiny_set: Path, capsys) -> None:
    flat = tiny_set / "Happy" / "flat.png"
    for value, whole in (("no", False), ("yes", True)):
        with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
            cfg = compose(config_name="predict_image", overrides=[f"path={flat}", f"whole_image_if_no_face={value}"])
        run_predict_image(cfg)
        assert ("whole image" in capsys.readouterr().out) is whole
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="predict_image", overrides=[f"path={flat}", "whole_image_if_no_face=maybe"])
    with pytest.raises(SystemExit) as stopped:
        run_predict_image(cfg)
    assert stopped.value.code == 2 and "whole_image_if_no_face must be true or false" in capsys.readouterr().err


def test_unknown_crop_mode_is_an_error(tmp_path: Path, capsys) -> None:
    status, _, err = evaluate(capsys, f"path={tmp_path}", "crop=whole")
    assert status == 2 and "crop must be one of" in err


def test_given_crop_pads_the_image_before_its_centre_square(tmp_path: Path) -> None:
    from facial_emotion.core.preprocessing import Preprocessing
    from facial_emotion.export.exporter import export_model
    from facial_emotion.inference.predictor import EmotionPredictor
    from facial_emotion.models.vgg import VGGNet
    from facial_emotion.video.photo_pipeline import PhotoPipeline

    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="center"), tmp_path / "tiny.pkl")
    predictor = EmotionPredictor(tmp_path / "tiny.pkl", bf16=False)
    pipeline = PhotoPipeline(detector=None, cropper=None, predictor=predictor)
    image = np.random.default_rng(0).integers(0, 256, (181, 143, 3), dtype=np.uint8)  # an SFEW-sized crop
    unpadded = pipeline.classify_whole(image, pad=0.0)
    padded = pipeline.classify_whole(image, pad=0.2)
    np.testing.assert_array_equal(unpadded.box, [0, 19, 143, 162])  # the centre square of the image
    # 36 / 29 px of replicated border added; the square read (-29..172 x -10..191) is reported clipped: all of it.
    np.testing.assert_array_equal(padded.box, [0, 0, 143, 181])
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    border = cv2.copyMakeBorder(gray, 36, 36, 29, 29, cv2.BORDER_REPLICATE)[26:227, 0:201]
    expected = predictor.predict_proba(cv2.resize(border, (48, 48), interpolation=cv2.INTER_AREA))[0]
    np.testing.assert_allclose(padded.probabilities, expected, atol=1e-6)


@requires_faces
def test_class_folders_are_matched_in_any_case(tmp_path: Path, capsys) -> None:
    log = tmp_path / "faces.csv"
    for folder, label in (("happy", "Happy"), ("ANGRY", "Angry")):  # FER2013's image folders on Kaggle: happy/
        (tmp_path / "set" / folder).mkdir(parents=True)
        shutil.copy(sorted((NIMSTIM / label).iterdir())[0], tmp_path / "set" / folder / "face.jpg")
    status, out, _ = evaluate(capsys, f"path={tmp_path / 'set'}", "tta=center", f"log={log}")
    assert status == 0 and "Accuracy exact: 100.00% (2 images" in out and "Skipped folders" not in out
    assert pd.read_csv(log)[["file", "label"]].values.tolist() == [
        ["ANGRY/face.jpg", "Angry"],
        ["happy/face.jpg", "Happy"],
    ]
