"""Several videos side by side in one frame (a benchmark of several faces per frame from single-face clips)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np

from facial_emotion.video.frame_source import FrameSource


def letterbox(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """`frame` scaled to fit (width, height) without distortion, centred on black."""
    scale = min(width / frame.shape[1], height / frame.shape[0])
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    scaled = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = scaled
    return canvas


class TiledFrameSource:
    """Frames of `paths` read in step, each letterboxed into a (width / n) x height tile, tiles left to right.

    Ends with the shortest video; timestamps are the first video's.
    """

    def __init__(self, paths: Sequence[str], width: int, height: int) -> None:
        self.sources = [FrameSource(path) for path in paths]
        self.tile_width, self.height = width // len(self.sources), height

    @property
    def description(self) -> str:
        return " | ".join(source.description for source in self.sources)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for frames in zip(*self.sources, strict=False):
            tiles = [letterbox(frame, self.tile_width, self.height) for _, frame in frames]
            yield frames[0][0], np.hstack(tiles)
