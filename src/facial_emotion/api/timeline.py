"""A video's emotions over time: rows sampled every `every` seconds of video, and their plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from facial_emotion.core.options import prepare_output_file
from facial_emotion.video.pipeline import FrameResult

BASE_COLUMNS = ["time", "frame", "face_id", "x", "y", "w", "h", "label", "probability"]


class TimelineRecorder:
    """A sink of the video pipeline: one row per face of the first frame of every `every` seconds
    (`every=0`: of every frame), read back as a DataFrame by `to_dataframe`."""

    def __init__(self, class_names: Sequence[str], every: float = 1.0) -> None:
        if not every >= 0:
            raise ValueError(f"every must be >= 0 seconds, got {every}")
        self.class_names = list(class_names)
        self.every = float(every)
        self.frames = 0
        self.last_time = 0.0
        self._rows: list[list] = []
        self._last_slot: int | None = None

    def write(self, result: FrameResult) -> None:
        frame_index = self.frames
        self.frames += 1
        self.last_time = result.timestamp
        # 1e-6: 0.6 / 0.2 is 2.9999999999999996 in floats, yet frame 0.6 s opens slot 3.
        slot = frame_index if self.every == 0 else math.floor(result.timestamp / self.every + 1e-6)
        if slot == self._last_slot:
            return
        self._last_slot = slot
        for face in result.faces:
            x1, y1, x2, y2 = (float(v) for v in face.box)
            self._rows.append(
                [
                    round(result.timestamp, 3),
                    frame_index,
                    face.track_id,
                    x1,
                    y1,
                    x2 - x1,
                    y2 - y1,
                    face.label,
                    face.probability,
                    *face.probabilities.tolist(),
                ]
            )

    def close(self) -> None:
        """Nothing to release."""

    def to_dataframe(self) -> pd.DataFrame:
        """Columns time, frame, face_id, x, y, w, h, label, probability, then one per class."""
        frame = pd.DataFrame(self._rows, columns=BASE_COLUMNS + self.class_names)
        return frame.astype({"time": float, "frame": int, "face_id": int, "probability": float})


def plot_timeline(df: pd.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """A PNG with one panel per face and one line per emotion over time; returns the file written: `path`, with
    `.png` appended when it has no suffix (matplotlib's rule). A folder is an OSError, before any plotting.

    `df` is what `EmotionRecognizer.analyze_video` returns (columns time, face_id, then one per class).
    """
    path = Path(path).expanduser()
    prepare_output_file(path, f"cannot write a plot to {path}")
    if not path.suffix:
        path = path.with_name(f"{path.name}.png")
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    class_names = [column for column in df.columns if column not in BASE_COLUMNS]
    face_ids = sorted(df["face_id"].unique()) if len(df) else []
    panels = max(1, len(face_ids))
    figure, axes = plt.subplots(panels, 1, figsize=(9, 1.2 + 2.2 * panels), sharex=True, squeeze=False)
    colours = plt.get_cmap("tab10")(np.arange(len(class_names)))
    for axis, face_id in zip(axes[:, 0], face_ids, strict=False):
        rows = df[df["face_id"] == face_id].sort_values("time")
        for name, colour in zip(class_names, colours, strict=True):
            axis.plot(rows["time"], rows[name], label=name, color=colour, marker="." if len(rows) < 30 else None)
        axis.set_ylim(0, 1)
        axis.set_ylabel(f"face {face_id}")
        axis.grid(alpha=0.3)
    if not face_ids:
        axes[0, 0].text(0.5, 0.5, "no face found", ha="center", va="center", transform=axes[0, 0].transAxes)
    axes[-1, 0].set_xlabel("time (s)")
    if class_names and face_ids:
        axes[0, 0].legend(ncol=len(class_names), loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize="small")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=100)
    finally:  # an unknown suffix (.xyz) raises: the figure is not left open in pyplot
        plt.close(figure)
    return path
