"""Dev helper: crop the labelled face sets once, then score model files and view sets on the crops in seconds.

`python tools/dev_face_crops.py MODEL.pkl [MODEL2.pkl ...] [--views multi_scale_ten_crop center ...]
[--sets ../shared/faces/sfew_train ...]`. The first run detects and crops every photo as
`scripts/evaluate_faces.py` does (photo detector settings, the first model file's crop geometry, the most
confident face) and also keeps each photo's whole-image crops for `crop=given` (its centre square and the whole
image squeezed to 48x48); the crops are cached in `.cache/dev_face_crops/`. Then every model x view set gets its
accuracy over all images (a missed face is wrong), per-class recall and NLL/ECE of the found faces, for choosing
views, temperatures and checkpoints on several sets at once. Not a product path: figures for the README come
from `scripts/evaluate_faces.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from hydra import compose, initialize_config_dir

from facial_emotion.core.calibration import expected_calibration_error
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.face_sets import find_face_set
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_cropper, build_detector
from facial_emotion.video.image_files import read_bgr

SETS = [PROJECT_ROOT.parent / "shared" / "faces" / name for name in ("sfew_train", "nimstim", "penn_er40")]
CACHE = PROJECT_ROOT / ".cache" / "dev_face_crops"
CROPS = ("detect", "given_square", "given_whole")


def photo_pipeline_config():
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "configs"), version_base="1.3"):
        return compose("evaluate_faces", overrides=["path=unused"]).face_pipeline


def cached_crops(set_dir: Path, predictor: EmotionPredictor) -> dict[str, np.ndarray]:
    """labels (N,), found (N,) bool, and (N, 48, 48) uint8 crops for each crop mode (zeros where not found)."""
    cache = CACHE / f"{set_dir.name}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            return dict(data)
    cfg = photo_pipeline_config()
    detector, cropper = build_detector(cfg), build_cropper(cfg, predictor.model.crop_geometry)
    face_set = find_face_set(set_dir)
    size = predictor.model.preprocessing.input_size
    out = {crop: np.zeros((len(face_set.images), size, size), np.uint8) for crop in CROPS}
    found = np.zeros(len(face_set.images), bool)
    for index, (path, _) in enumerate(face_set.images):
        image = read_bgr(path)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        height, width = gray.shape
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = gray[top : top + side, left : left + side]
        out["given_square"][index] = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
        out["given_whole"][index] = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
        faces = detector.detect(image)
        if faces:
            out["detect"][index] = cropper.crop_all(image, faces[:1])[0]
            found[index] = True
    data = {**out, "found": found, "labels": np.array([label for _, label in face_set.images])}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **data)
    return data


def report(name: str, probs: np.ndarray, labels: np.ndarray, found: np.ndarray, classes: list[str]) -> str:
    predicted = np.where(found, probs.argmax(1), -1)
    accuracy = 100 * (predicted == labels).mean()
    present = [(k, c) for k, c in enumerate(classes) if (labels == k).any()]
    recall = " ".join(f"{c[:3]} {100 * (predicted[labels == k] == k).mean():4.1f}" for k, c in present)
    nll = -np.log(np.clip(probs[found, labels[found]], 1e-7, 1)).mean()
    ece = 100 * expected_calibration_error(probs[found], labels[found])
    return f"  {name:<42} acc {accuracy:5.1f}  NLL {nll:.3f} ECE {ece:4.1f}  | {recall}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--views", nargs="+", default=[None])
    parser.add_argument("--sets", nargs="+", type=Path, default=SETS)
    parser.add_argument("--crops", nargs="+", default=["detect"], choices=CROPS)
    args = parser.parse_args()
    torch.set_num_threads(2)
    first = EmotionPredictor(args.models[0], backend="onnxruntime")
    data = {set_dir.name: cached_crops(set_dir, first) for set_dir in args.sets}
    for model in args.models:
        for views in args.views:
            predictor = EmotionPredictor(model, tta=views, backend="onnxruntime")
            print(f"{model.name} views={predictor.tta} T={predictor.temperature:.3f}")
            for set_name, arrays in data.items():
                for crop in args.crops:
                    found = arrays["found"] if crop == "detect" else np.ones_like(arrays["found"])
                    probs = predictor.predict_proba(arrays[crop])
                    line = report(f"{set_name} {crop}", probs, arrays["labels"], found, predictor.class_names)
                    print(line, flush=True)


if __name__ == "__main__":
    main()
