"""Accuracy of the photo pipeline on a labelled face set: every image counts, a missed face counts as wrong."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from facial_emotion.core.calibration import expected_calibration_error
from facial_emotion.evaluation.face_sets import FaceSet
from facial_emotion.evaluation.metrics import confusion_matrix, per_class_accuracy
from facial_emotion.video.image_files import read_bgr_or_reason
from facial_emotion.video.photo_pipeline import PhotoPipeline

CROP_MODES = ("detect", "given")


@dataclass
class FaceSetResult:
    """Per-image rows (file, label, outcome, box, probabilities, emotion) and the class names."""

    rows: pd.DataFrame
    class_names: list[str]

    @property
    def readable(self) -> pd.DataFrame:
        return self.rows[self.rows["outcome"] != "unreadable"]

    @property
    def found(self) -> pd.DataFrame:
        return self.rows[self.rows["outcome"] == "face"]

    def summary(self) -> dict[str, float | int | list[float]]:
        """Accuracy over readable images (missed = wrong), faces found, accuracy of found faces, per-class
        recall over readable images (classes absent from the set: nan), ECE of found faces."""
        readable, found = self.readable, self.found
        correct = readable["emotion"] == readable["label"]
        labels = readable["label"].map(self.class_names.index).to_numpy(int)
        # A missed face is one more "predicted class" so that it lowers its class's recall.
        predicted = readable["emotion"].map(lambda e: self.class_names.index(e) if e else len(self.class_names))
        matrix = confusion_matrix(predicted.to_numpy(int), labels, len(self.class_names) + 1)
        present = np.bincount(labels, minlength=len(self.class_names) + 1) > 0
        recall = np.where(present, per_class_accuracy(matrix), np.nan)[: len(self.class_names)]
        probs = found[self.class_names].to_numpy(float)
        found_labels = found["label"].map(self.class_names.index).to_numpy()
        return {
            "images": int(len(self.rows)),
            "unreadable": int(len(self.rows) - len(readable)),
            "accuracy": float(correct.mean()) if len(readable) else float("nan"),
            "faces_found": len(found) / len(readable) if len(readable) else float("nan"),
            "found_accuracy": float((found["emotion"] == found["label"]).mean()) if len(found) else float("nan"),
            "recall": [float(r) for r in recall],
            "ece": expected_calibration_error(probs, found_labels) if len(found) else float("nan"),
        }

    def confusion(self) -> np.ndarray:
        """(classes, classes) counts over found faces: rows true, columns predicted."""
        found = self.found
        labels = found["label"].map(self.class_names.index).to_numpy(int)
        predicted = found["emotion"].map(self.class_names.index).to_numpy(int)
        return confusion_matrix(predicted, labels, len(self.class_names))


def evaluate_face_set(
    face_set: FaceSet,
    pipeline: PhotoPipeline,
    crop: str = "detect",
    progress: Callable | None = None,
    given_pad: float = 0.2,
) -> FaceSetResult:
    """Runs the pipeline (or, with crop="given", the classifier on each whole image padded by `given_pad`) on
    every image."""
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {CROP_MODES}, got {crop!r}")
    names = pipeline.predictor.class_names
    rows = []
    items = progress(face_set.images) if progress else face_set.images
    for path, label in items:
        row = {"file": str(path.relative_to(face_set.root)), "label": names[label]}
        image, _ = read_bgr_or_reason(path)  # a file that cannot be opened counts as unreadable
        if image is None:
            rows.append({**row, "outcome": "unreadable", "emotion": ""})
            continue
        faces = [pipeline.classify_whole(image, given_pad)] if crop == "given" else pipeline.process(image)
        if not faces:
            rows.append({**row, "outcome": "no face", "emotion": ""})
            continue
        face = faces[0]  # the detector's most confident face
        x1, y1, x2, y2 = (float(v) for v in face.box)
        probabilities = dict(zip(names, (round(float(p), 5) for p in face.probabilities), strict=True))
        rows.append(
            {
                **row,
                "outcome": "face",
                "x": round(x1, 1),
                "y": round(y1, 1),
                "w": round(x2 - x1, 1),
                "h": round(y2 - y1, 1),
                **probabilities,
                "emotion": face.label,
            }
        )
    columns = ["file", "label", "outcome", "x", "y", "w", "h", *names, "emotion"]
    return FaceSetResult(pd.DataFrame(rows, columns=columns), list(names))
