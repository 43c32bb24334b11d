"""Dev helper: crop the labelled face sets once, then score model files and view sets on the crops in seconds.

`python tools/dev_face_crops.py MODEL.pkl [MODEL2.pkl ...] [--views multi_scale_ten_crop center ...]
[--sets ../shared/faces/sfew_train ...] [--crops detect given_square given_whole] [--prior-tau 0 0.5 1]
[--early-exit file|mode@confidence,...] [--disagreements]`.
The first run detects and crops every photo as `scripts/evaluate_faces.py` does (photo detector settings, the first
model file's crop geometry, the most confident face) and also keeps each photo's whole-image crops for `crop=given`
(its centre square and the whole image squeezed to 48x48); the crops are cached in `.cache/dev_face_crops/` per set
and crop geometry. Then every model x view set gets its accuracy over all images (a missed face is wrong), per-class
recall and NLL/ECE of the found faces, for choosing views, temperatures and checkpoints on several sets at once. The
20 view logits of each model are computed once and cached (every view set is a subset of them); `--prior-tau` divides
FER2013's class prior out of the probabilities (post-hoc logit adjustment) at each strength; `--disagreements` lists
the photos where the first two model files predict differently. Not a product path: figures for the README come from
`scripts/evaluate_faces.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from hydra import compose, initialize_config_dir

from facial_emotion.core.calibration import expected_calibration_error, mean_view_probabilities
from facial_emotion.core.early_exit import cascade_probabilities, format_early_exit, parse_early_exit
from facial_emotion.core.preprocessing import TTA_MODES, views_within_all
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


def geometry_key(predictor: EmotionPredictor) -> str:
    """A short digest of the file's crop geometry: crops (and their logits) cut to another geometry are others."""
    geometry = json.dumps(predictor.model.crop_geometry.to_dict(), sort_keys=True)
    return hashlib.sha1(geometry.encode()).hexdigest()[:8]


def cached_crops(set_dir: Path, predictor: EmotionPredictor, geometry: str) -> dict[str, np.ndarray]:
    """labels (N,), found (N,) bool, and (N, 48, 48) uint8 crops for each crop mode (zeros where not found), cut to
    the predictor's crop geometry (`geometry`: its `geometry_key`)."""
    cache = CACHE / f"{set_dir.name}-{geometry}.npz"
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


# FER2013 train.csv class counts (README.txt of the data): the prior that logit adjustment divides out.
TRAIN_COUNTS = np.array([3995, 436, 4097, 7215, 4830, 3171, 4965], dtype=np.float64)


def twenty_view_logits(model: Path, faces: np.ndarray, key: str, backend: str = "onnxruntime") -> torch.Tensor:
    """(N, 20, classes) logits of multi_scale_ten_crop, cached per model file content, crop set and backend."""
    digest = hashlib.sha1(model.read_bytes()).hexdigest()[:12]
    cache = CACHE / f"logits-{digest}-{key}-{backend}.npy"
    if cache.is_file():
        return torch.from_numpy(np.load(cache))
    predictor = EmotionPredictor(model, tta="multi_scale_ten_crop", backend=backend, bf16=False)
    with torch.inference_mode():
        logits = torch.cat([predictor.view_logits(torch.from_numpy(faces[i : i + 8])) for i in range(0, len(faces), 8)])
    np.save(cache, logits.numpy())
    return logits


def print_disagreements(predictions: dict, set_dirs: dict[str, Path], data: dict, classes: list[str]) -> None:
    """For each view set, crop and face set, the photos where the first two models' predicted classes differ."""
    file_names = {name: [Path(path).name for path, _ in find_face_set(d).images] for name, d in set_dirs.items()}
    for (views, tau, set_name, crop), runs in predictions.items():
        (name_a, probs_a, found), (name_b, probs_b, _) = runs[:2]
        differ = np.flatnonzero(found & (probs_a.argmax(1) != probs_b.argmax(1)))
        print(f"{name_a} vs {name_b}, views={views} prior tau={tau}, {set_name} {crop}: {len(differ)} photos differ")
        for index in differ:
            label = classes[data[set_name]["labels"][index]]
            first, second = probs_a[index], probs_b[index]
            print(
                f"  {file_names[set_name][index]:<24} label {label:<8} {classes[first.argmax()]:<8} {first.max():.2f}"
                f"  {classes[second.argmax()]:<8} {second.max():.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--views", nargs="+", default=["multi_scale_ten_crop"], choices=list(TTA_MODES))
    parser.add_argument("--sets", nargs="+", type=Path, default=SETS)
    parser.add_argument("--crops", nargs="+", default=["detect"], choices=CROPS)
    parser.add_argument("--temperature", type=float, default=None, help="instead of the file's, for every view set")
    parser.add_argument("--backend", default="onnxruntime", help="torch (fp32), onnxruntime or onnxruntime-int8")
    parser.add_argument("--prior-tau", type=float, nargs="+", default=[0.0], help="logit adjustment strengths")
    parser.add_argument("--early-exit", default="none", help="file (its recorded policy) or mode@confidence,...")
    parser.add_argument("--disagreements", action="store_true", help="list photos the first two models differ on")
    args = parser.parse_args()
    torch.set_num_threads(2)
    first = EmotionPredictor(args.models[0], backend="onnxruntime")
    geometry = geometry_key(first)
    data = {set_dir.name: cached_crops(set_dir, first, geometry) for set_dir in args.sets}
    log_prior = torch.from_numpy(np.log(TRAIN_COUNTS / TRAIN_COUNTS.sum())).float()
    predictions: dict[tuple, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for model in args.models:
        model_file = EmotionPredictor(model, backend="torch").model
        for views in args.views:
            temperature = args.temperature or model_file.temperature_for(views)
            policy = model_file.preprocessing.early_exit if args.early_exit == "file" else args.early_exit
            stages = parse_early_exit(policy)
            recorded = model_file.preprocessing.early_exit_temperatures
            exits = recorded if args.early_exit == "file" and args.temperature is None else ()
            temperature_for = model_file.temperature_for if args.temperature is None else lambda _: args.temperature
            for tau in args.prior_tau:
                early = f" early exit {format_early_exit(stages)}" if stages else ""
                print(f"{model.name} views={views}{early} T={temperature:.3f} prior tau={tau} backend={args.backend}")
                for set_name, arrays in data.items():
                    for crop in args.crops:
                        found = arrays["found"] if crop == "detect" else np.ones_like(arrays["found"])
                        logits = twenty_view_logits(model, arrays[crop], f"{set_name}-{geometry}-{crop}", args.backend)
                        probs = mean_view_probabilities(logits[:, views_within_all(views)], temperature)
                        if stages:
                            probs = cascade_probabilities(
                                len(logits), lambda f, v, x=logits: x[f][:, v], stages, views, temperature_for, exits
                            ).probabilities
                        probs = torch.softmax(probs.clamp_min(1e-12).log() - tau * log_prior, dim=1).numpy()
                        line = report(f"{set_name} {crop}", probs, arrays["labels"], found, model_file.class_names)
                        print(line, flush=True)
                        predictions.setdefault((views, tau, set_name, crop), []).append((model.name, probs, found))
    if args.disagreements and len(args.models) > 1:
        print_disagreements(predictions, {d.name: d for d in args.sets}, data, model_file.class_names)


if __name__ == "__main__":
    main()
