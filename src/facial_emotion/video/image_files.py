"""Find photos under a file or folder and read them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def find_images(path: str | Path) -> list[Path]:
    """`path` itself if it is a file, else every image under the folder (recursive, sorted).

    Raises FileNotFoundError when `path` does not exist.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_bgr(path: Path) -> np.ndarray | None:
    """The image as a BGR uint8 array, or None when it cannot be decoded."""
    data = np.fromfile(str(path), dtype=np.uint8) if path.stat().st_size else np.zeros(0, np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
