"""Photo files: which kinds are found and read, and where annotated colour copies are written."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facial_emotion.tasks.predict_image import url_file_name
from facial_emotion.video.image_files import (
    IMAGE_SUFFIXES,
    annotated_copy_path,
    find_images,
    read_bgr,
    write_image,
)

GREY = np.tile(np.arange(0, 240, 4, dtype=np.uint8), (40, 1))  # 40x60, a horizontal ramp


@pytest.mark.parametrize("suffix", [".pgm", ".ppm", ".gif", ".jp2", ".avif", ".webp", ".tiff"])
def test_every_listed_kind_is_found_and_read_back(tmp_path: Path, suffix: str) -> None:
    assert suffix in IMAGE_SUFFIXES
    image = GREY if suffix == ".pgm" else cv2.cvtColor(GREY, cv2.COLOR_GRAY2BGR)
    path = tmp_path / f"face{suffix.upper()}"  # suffixes match whatever their case
    write_image(path, image)
    (tmp_path / "notes.txt").write_text("not a photo")
    images, others, unlistable = find_images(tmp_path)
    assert images == [path] and others == [tmp_path / "notes.txt"] and unlistable == []
    read = read_bgr(path)
    assert read is not None and read.shape == (40, 60, 3)
    lossless = suffix in (".pgm", ".ppm", ".tiff")
    assert np.abs(read[..., 1].astype(int) - GREY).max() <= (0 if lossless else 40)


def test_colour_copies_of_grey_only_or_unnamed_kinds_get_png_appended(tmp_path: Path) -> None:
    assert annotated_copy_path(tmp_path / "a" / "face.pgm") == tmp_path / "a" / "face.pgm.png"
    assert annotated_copy_path(tmp_path / "face.JFIF") == tmp_path / "face.JFIF.png"
    assert annotated_copy_path(tmp_path / "face.jpg") == tmp_path / "face.jpg"
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 2] = 255  # red, which a grey file could not hold
    for name in ("face.pgm", "photo.jfif", "ünïcode/face.png"):
        target = annotated_copy_path(tmp_path / name)
        write_image(target, colour)
        assert read_bgr(target)[0, 0].tolist() == [0, 0, 255]


def test_an_image_that_cannot_be_written_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"face\.pgm: OpenCV cannot write"):
        write_image(tmp_path / "face.pgm", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(OSError, match="suffix-less"):
        write_image(tmp_path / "face", np.zeros((8, 8, 3), np.uint8))


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://host/photos/face%201.jpg", "face 1.jpg"),
        ("https://host/show.php?id=3", "show.php.png"),
        ("http://host/", "photo.png"),
        ("http://user:pw@host/a/b.webp?size=2", "b.webp"),
    ],
)
def test_the_annotated_copy_of_a_downloaded_photo_is_named_after_the_url(url: str, name: str) -> None:
    assert url_file_name(url) == name
