"""Turn what a user passes as an image (a path, a BGR numpy array, a PIL image) into a BGR uint8 array."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from facial_emotion.api.errors import ImageInputError
from facial_emotion.video.image_files import read_bgr

ImageInput = str | Path | np.ndarray | Image.Image


def to_bgr(image: Any, name: str = "image") -> np.ndarray:
    """A contiguous (H, W, 3) BGR uint8 array; `name` says which input an error is about."""
    if isinstance(image, str | Path):
        return read_image_file(Path(image))
    if isinstance(image, np.ndarray):
        return check_frame(image, name)
    if isinstance(image, Image.Image):
        try:
            rgb = np.asarray(image.convert("RGB"))
        except OSError as error:  # a lazily opened, truncated file fails only now
            raise ImageInputError(f"{name}: the PIL image cannot be decoded ({error})") from None
        return check_frame(np.ascontiguousarray(rgb[:, :, ::-1]), name)
    raise ImageInputError(f"{name}: expected a file path, a BGR numpy array or a PIL image, got {type(image).__name__}")


def read_image_file(path: Path) -> np.ndarray:
    """The image file as BGR uint8, or an `ImageInputError` naming the path."""
    path = path.expanduser()
    if not path.exists():
        raise ImageInputError(f"image file not found: {path}")
    if not path.is_file():
        raise ImageInputError(f"not a file: {path}")
    try:
        image = read_bgr(path)
    except OSError as error:
        raise ImageInputError(f"cannot read {path}: {error.strerror or error}") from None
    if image is None:
        raise ImageInputError(f"not a readable image (unknown format, corrupt or empty): {path}")
    return image


def check_frame(frame: np.ndarray, name: str = "frame") -> np.ndarray:
    """A BGR uint8 frame as it is, a grayscale or BGRA one converted; anything else is an `ImageInputError`."""
    if frame.dtype != np.uint8:
        raise ImageInputError(f"{name}: expected dtype uint8 (0..255), got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_GRAY2BGR)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGRA2BGR)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ImageInputError(
            f"{name}: expected shape (H, W, 3) BGR, (H, W, 4) BGRA or (H, W) grayscale, got {frame.shape}"
        )
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ImageInputError(f"{name}: the image is empty (shape {frame.shape})")
    return np.ascontiguousarray(frame)
