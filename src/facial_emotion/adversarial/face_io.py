"""Read any image as a 48x48 grayscale face and write faces as lossless grayscale PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

FACE_SIZE = 48


def load_face_image(path: str | Path, size: int = FACE_SIZE) -> tuple[np.ndarray, list[str]]:
    """Load `path` as a (size, size) uint8 face; the notes say what conversion, crop or resize was applied."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    image = Image.open(path)
    notes = []
    if image.mode != "L":
        notes.append(f"converted from {image.mode} to 8-bit grayscale")
        image = image.convert("L")
    if image.width != image.height:
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        notes.append(f"centre-cropped from {image.width}x{image.height} to {side}x{side}")
        image = image.crop((left, top, left + side, top + side))
    if image.size != (size, size):
        notes.append(f"resized from {image.width}x{image.height} to {size}x{size}")
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8).copy(), notes


def save_face_png(face: np.ndarray, path: str | Path) -> Path:
    """Write a (H, W) uint8 face as an 8-bit grayscale PNG (lossless: reloading gives the same pixels)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(face, dtype=np.uint8), mode="L").save(path)
    return path


def read_face_png(path: str | Path) -> np.ndarray:
    """Read a grayscale PNG written by `save_face_png` back as uint8 (H, W)."""
    return np.asarray(Image.open(path).convert("L"), dtype=np.uint8).copy()
