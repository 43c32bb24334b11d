"""Measure FER2013's face geometry and record it in model files (a dev tool; argparse allowed under tools/).

MTCNN's five landmarks on upscaled, padded FER2013 training faces, averaged, give where a FER2013 face has
its eyes, nose and mouth corners in the 48x48 image. `--zoom` scales those positions about their centroid
(chosen on the real-face dev sets, all at once: see docs/real_faces.md). The result is written into each
model file's `crop_geometry`, so photos, video, the live stream and preprocess.py all cut faces like it.

    python tools/record_crop_geometry.py --faces 3000 --zoom 0.95 results/model/my_own_model.pkl ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.model_file import save_model_file
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import SHARED_DATA_DIR, require_csv
from facial_emotion.models.loading import load_model_file
from facial_emotion.video.face_detector import FaceDetector

UPSCALE = 4  # 48 -> 192 px: MTCNN's smallest pyramid level needs faces well above 12 px
PAD = 0.25  # FER2013 faces fill their image; padding gives MTCNN the context it needs


def fer_landmarks(count: int, seed: int = 0) -> np.ndarray:
    """(N, 5, 2) MTCNN landmarks, in 48x48 pixels, of up to `count` random FER2013 training faces."""
    images = load_fer_csv(require_csv(SHARED_DATA_DIR, "train.csv")).images
    chosen = np.random.default_rng(seed).choice(len(images), count, replace=False)
    detector = FaceDetector(min_face_size=40, max_side=10_000, pad=PAD)
    marks = []
    for index in chosen:
        big = cv2.resize(images[index], None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        faces = detector.detect(big)
        if faces:
            marks.append(faces[0].landmarks / UPSCALE)
    return np.array(marks, dtype=np.float64)


def geometry_from(landmarks: np.ndarray, zoom: float) -> CropGeometry:
    mean = landmarks.mean(axis=0)
    centroid = mean.mean(axis=0)
    targets = (mean - centroid) * zoom + centroid
    source = (
        f"mean MTCNN landmarks of {len(landmarks)} FER2013 train faces (x{UPSCALE} upscaled, {PAD:.0%} padded), "
        f"scaled x{zoom} about their centroid (chosen on nimstim, penn_er40 and sfew_train together)"
    )
    return CropGeometry("landmarks", targets=tuple(map(tuple, targets.round(3).tolist())), source=source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_files", nargs="*", type=Path, help="model files to record the geometry in")
    parser.add_argument("--faces", type=int, default=3000, help="FER2013 training faces to measure")
    parser.add_argument("--zoom", type=float, default=0.95, help="scale of the target positions")
    parser.add_argument("--cache", type=Path, default=None, help="npz of measured landmarks (read or written)")
    args = parser.parse_args()
    if args.cache and args.cache.is_file():
        landmarks = np.load(args.cache)["landmarks"]
    else:
        landmarks = fer_landmarks(args.faces)
        if args.cache:
            np.savez(args.cache, landmarks=landmarks)
    geometry = geometry_from(landmarks, args.zoom)
    print(f"{len(landmarks)} faces; targets (x, y) in the 48x48 crop: {geometry.targets}")
    for path in args.model_files:
        model = load_model_file(path)
        model.crop_geometry = geometry
        save_model_file(path, model)
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
