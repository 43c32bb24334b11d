"""Find photos under a file or folder and read them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# What OpenCV decodes (by content; the suffix only picks the files): .jfif is a browser's name for a JPEG.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp")
IMAGE_KINDS = "jpg png bmp tiff webp"


def split_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The images under `folder` (recursive, sorted) and the other files there that are not hidden (.DS_Store)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    return images, [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]


def find_images(path: str | Path) -> tuple[list[Path], list[Path]]:
    """`path` itself if it is a file, else every image under the folder (recursive, sorted); and the folder's other
    files, which are not read (none for a single file).

    Raises FileNotFoundError when `path` does not exist.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return [path], []
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return split_files(path)


def describe_skipped(files: list[Path], root: Path, shown: int = 5) -> str:
    """One line naming the files that were not read as images (the first `shown` of them)."""
    names = ", ".join(str(p.relative_to(root)) for p in files[:shown])
    more = f" and {len(files) - shown} more" if len(files) > shown else ""
    return f"Skipped {len(files)} file(s) that are not images ({IMAGE_KINDS}): {names}{more}"


def read_bgr(path: Path) -> np.ndarray | None:
    """The image as a BGR uint8 array, or None when it cannot be decoded."""
    data = np.fromfile(str(path), dtype=np.uint8) if path.stat().st_size else np.zeros(0, np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
