"""What `EmotionRecognizer.analyze` returns: one `FaceResult` per face, as plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from facial_emotion.core.labels import EMOTIONS
from facial_emotion.video.pipeline import FaceEmotion


@dataclass(frozen=True)
class FaceResult:
    """One face: `box` (x, y, w, h) in the image's pixels, clipped to the image (a face cut by the edge: the part
    inside), the top `label` and its `probability`, all `probabilities` (class name -> probability, summing to 1)
    and the 5 MTCNN `landmarks` (x, y) when known: left eye, right eye (as seen in the image), nose, mouth left,
    mouth right (not clipped). `whole_image`: no face was found and the whole image was classified instead
    (`whole_image_if_no_face=True`; its box is the part of the image that was read)."""

    box: tuple[float, float, float, float]
    label: str
    probability: float
    probabilities: dict[str, float]
    landmarks: tuple[tuple[float, float], ...] | None = None
    whole_image: bool = False

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]

    @classmethod
    def from_face(cls, face: FaceEmotion, class_names: Sequence[str]) -> FaceResult:
        """From the video pipeline's `FaceEmotion` (xyxy box, probability array)."""
        x1, y1, x2, y2 = (float(v) for v in face.box)
        probabilities = {name: float(p) for name, p in zip(class_names, face.probabilities, strict=True)}
        landmarks = None
        if face.landmarks is not None:
            landmarks = tuple((float(x), float(y)) for x, y in face.landmarks)
        box = (x1, y1, x2 - x1, y2 - y1)
        return cls(box, face.label, face.probability, probabilities, landmarks, face.whole_image)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only (JSON-ready): box and landmarks as lists."""
        return {
            "box": list(self.box),
            "label": self.label,
            "probability": self.probability,
            "probabilities": dict(self.probabilities),
            "landmarks": None if self.landmarks is None else [list(point) for point in self.landmarks],
            "whole_image": self.whole_image,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceResult:
        """The inverse of `to_dict`."""
        landmarks = data.get("landmarks")
        return cls(
            box=tuple(float(v) for v in data["box"]),
            label=str(data["label"]),
            probability=float(data["probability"]),
            probabilities={str(k): float(v) for k, v in data["probabilities"].items()},
            landmarks=None if landmarks is None else tuple((float(x), float(y)) for x, y in landmarks),
            whole_image=bool(data.get("whole_image", False)),
        )

    def to_row(self) -> dict[str, Any]:
        """A flat dict: x, y, w, h, label, probability, then one key per class (a DataFrame row)."""
        x, y, w, h = self.box
        return {"x": x, "y": y, "w": w, "h": h, "label": self.label, "probability": self.probability} | dict(
            self.probabilities
        )


def to_dataframe(faces: Sequence[FaceResult]) -> pd.DataFrame:
    """One row per face: `face` (0 = largest), x, y, w, h, label, probability, one column per class."""
    if not faces:  # the same columns, so code that selects one ("Happy") works on a photo without a face
        return pd.DataFrame(columns=["face", "x", "y", "w", "h", "label", "probability", *EMOTIONS])
    frame = pd.DataFrame([face.to_row() for face in faces])
    frame.insert(0, "face", range(len(faces)))
    return frame


def largest_first(faces: Sequence[FaceEmotion], class_names: Sequence[str]) -> list[FaceResult]:
    """The pipeline's faces as `FaceResult`s, largest box first (ties: the detector's order)."""
    results = [FaceResult.from_face(face, class_names) for face in faces]
    return sorted(results, key=lambda result: -result.area)
