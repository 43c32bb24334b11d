"""Dev helper: score the `fer` PyPI package on the labelled face sets and the FER2013 test set, for a head-to-head.

`python tools/compare_with_fer.py SOURCE [--detector haar|mtcnn] [--model tflite|keras] [--offsets X Y]
[--csv FILE] [--limit N]`, where SOURCE is a labelled folder (`<Label>/<image>`, FER2013's class names as folder
names, e.g. `../shared/faces/nimstim`) or the FER2013 test CSV (`../shared/data/fer2013/test_with_emotions.csv.gz`).

It runs in a separate virtual environment, never the project's: `fer` needs TensorFlow, and this script imports
nothing from the project. Set-up (Python 3.11; the versions results/model/fer_comparison.md was measured with):

    /usr/bin/python3.11 -m venv /tmp/fervenv
    /tmp/fervenv/bin/pip install "tensorflow-cpu==2.21.0" "torch==2.14.1" "torchvision==0.29.1" \
        opencv-contrib-python matplotlib pandas requests "tqdm>=4.62.1" "moviepy>=1.0.3,<2.0" \
        "ffmpeg-python>=0.2.0" Pillow "setuptools<81"
    /tmp/fervenv/bin/pip install --no-deps "fer==25.10.3" "facenet-pytorch==2.6.0"
    /tmp/fervenv/bin/python tools/compare_with_fer.py ../shared/faces/nimstim --detector mtcnn

`--no-deps`: fer asks for `tensorflow` (not `tensorflow-cpu`) and facenet-pytorch pins torch 2.2 and numpy < 2;
fer's code runs on the versions above. `setuptools<81`: fer imports `pkg_resources`. A torchvision whose compiled
ops match the installed torch is needed (facenet-pytorch calls `torchvision.ops.batched_nms`). torch is imported
before TensorFlow: the other order crashes (segmentation fault) with these builds.

What it measures, as `scripts/evaluate_faces.py` does for the project: every image counts, an image where fer finds
no face counts as wrong; faces found; accuracy of the found faces; recall per class over all images of the class
(classes the set lacks: blank). fer's own `FER.detect_emotions` does everything from the decoded BGR image on
(detector, its square box, its 10-pixel offsets and 40-pixel border, 64x64 grey, its classifier). fer does not give
the detector's confidence (the project keeps its detector's most confident face), so where fer finds several faces
the largest box is the image's face; the line "first face" gives the accuracy with fer's own choice
(`FER.top_emotion` takes the first face). The emotion is the highest of fer's scores (rounded to 2 decimals by fer;
a tie goes to the first class in FER2013's order, as `top_emotion` does).

FER2013 CSV: each 48x48 face is given to fer as a BGR image with the face box (0, 0, 48, 48), so fer pads the image
by 40 pixels of its bottom rows' mean grey, adds its 10-pixel offsets (a 68x68 crop) and resizes it to 64x64;
PublicTest / PrivateTest come from a `Usage` column, or from `test_usage.csv` beside the CSV. `--offsets 0 0` (fer's
own `offsets` setting) gives fer's classifier the bare face instead. Results: results/model/fer_comparison.md.

Milliseconds per image are wall time of `detect_emotions` on the decoded image (the first image, which warms up,
left out); this CPU and its other load are not the README's, so they are context, not a benchmark.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

EMOTIONS = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")  # FER2013's order, fer's too
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")
FACE_BOX_48 = (0, 0, 48, 48)


@dataclass
class Row:
    """One image's outcome: `face`, `no face` or `unreadable`; the chosen face's box and fer's scores."""

    name: str
    label: int
    outcome: str
    faces: int = 0
    box: tuple[int, int, int, int] | None = None
    scores: list[float] = field(default_factory=list)
    emotion: int = -1
    first_face_emotion: int = -1  # fer's `top_emotion` choice: its first face
    usage: str = ""
    ms: float = float("nan")


def labelled_images(root: Path) -> list[tuple[Path, int]]:
    """Images (recursive, sorted, hidden files skipped) under each folder named exactly as a FER2013 class."""
    images = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name in EMOTIONS):
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        images += [(p, EMOTIONS.index(folder.name)) for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise SystemExit(f"{root}: no images in class folders ({', '.join(EMOTIONS)})")
    return images


def read_bgr(path: Path) -> np.ndarray | None:
    """The image as BGR uint8 (as the project reads it), or None when it cannot be decoded."""
    data = np.fromfile(str(path), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def fer2013_rows(path: Path) -> list[tuple[str, int, np.ndarray, str]]:
    """(row number, label, 48x48 grey face, usage) per row of the FER2013 CSV (gzipped or not)."""
    import pandas as pd

    table = pd.read_csv(path)
    if "Usage" in table.columns:
        usage = table["Usage"].astype(str).tolist()
    else:
        beside = path.parent / "test_usage.csv"
        usage = pd.read_csv(beside)["Usage"].astype(str).tolist() if beside.is_file() else [""] * len(table)
        if len(usage) != len(table):
            raise SystemExit(f"{beside}: {len(usage)} rows, {path.name} has {len(table)}")
    faces = []
    for index, (label, pixels, use) in enumerate(zip(table["emotion"], table["pixels"], usage, strict=True)):
        face = np.array(pixels.split(), dtype=np.uint8).reshape(48, 48)
        faces.append((str(index), int(label), face, use))
    return faces


def make_fer(detector: str, model: str, offsets: tuple[int, int] = (10, 10)) -> object:
    """fer's `fer.fer.FER` (imported here: fer's venv only), default settings; torch first for MTCNN."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if detector == "mtcnn":
        import facenet_pytorch  # noqa: F401  (before TensorFlow: the other order crashes)
    warnings.filterwarnings("ignore")
    import logging

    from fer.fer import FER  # fer 25.10.3's `fer/__init__.py` does not export FER

    logging.getLogger("fer").setLevel(logging.WARNING)
    return FER(mtcnn=detector == "mtcnn", use_tflite=model == "tflite", offsets=offsets)


def top(scores: dict[str, float]) -> int:
    """Index of the highest score; a tie goes to the first class (as `max` over fer's dict does)."""
    values = [scores[name.lower()] for name in EMOTIONS]
    return int(np.argmax(values))


def classify(fer, name: str, label: int, image: np.ndarray, boxes: list | None, usage: str = "") -> Row:
    """fer's faces on one decoded BGR image (`boxes`: given face boxes, or None for fer's detector)."""
    start = time.perf_counter()
    faces = fer.detect_emotions(image, face_rectangles=boxes)
    ms = (time.perf_counter() - start) * 1000
    if not faces:
        return Row(name, label, "no face", usage=usage, ms=ms)
    largest = max(faces, key=lambda face: int(face["box"][2]) * int(face["box"][3]))  # first of equal areas
    box = tuple(int(v) for v in largest["box"])
    scores = [float(largest["emotions"][n.lower()]) for n in EMOTIONS]
    return Row(
        name,
        label,
        "face",
        len(faces),
        box,
        scores,
        top(largest["emotions"]),
        top(faces[0]["emotions"]),
        usage,
        ms,
    )


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}" if whole else ""


def summarise(rows: list[Row], title: str) -> list[str]:
    """The lines printed for one set: images, faces found, accuracies, recall per class, several faces."""
    readable = [r for r in rows if r.outcome != "unreadable"]
    found = [r for r in readable if r.outcome == "face"]
    right = sum(r.emotion == r.label for r in readable)
    first_right = sum(r.first_face_emotion == r.label for r in readable)
    lines = [
        f"== {title}",
        f"images: {len(rows)} (unreadable {len(rows) - len(readable)})",
        f"faces found: {percent(len(found), len(readable))}% ({len(found)}/{len(readable)})",
        f"accuracy, all images (missed = wrong): {percent(right, len(readable))}% ({right}/{len(readable)})",
        f"accuracy of found faces: {percent(right, len(found))}% ({right}/{len(found)})",
    ]
    recall = []
    for index, name in enumerate(EMOTIONS):
        of_class = [r for r in readable if r.label == index]
        hits = sum(r.emotion == index for r in of_class)
        recall.append(f"{name} {percent(hits, len(of_class))}% ({hits}/{len(of_class)})" if of_class else f"{name} -")
    lines.append("recall: " + ", ".join(recall))
    several = [r for r in found if r.faces > 1]
    lines.append(
        f"images with several faces: {len(several)}; accuracy with fer's first face instead of the largest: "
        f"{percent(first_right, len(readable))}%"
    )
    ties = sum(1 for r in found if sorted(r.scores)[-1] == sorted(r.scores)[-2])
    lines.append(f"found faces whose top two rounded scores tie: {ties}")
    for usage in sorted({r.usage for r in readable if r.usage}):
        part = [r for r in readable if r.usage == usage]
        hits = sum(r.emotion == r.label for r in part)
        lines.append(f"{usage}: {percent(hits, len(part))}% ({hits}/{len(part)})")
    times = np.array([r.ms for r in readable[1:]])
    if times.size:
        lines.append(
            f"ms per image (detect_emotions, first left out): median {np.median(times):.2f}, mean {times.mean():.2f}"
        )
    return lines


def write_csv(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "usage", "outcome", "faces", "x", "y", "w", "h", *EMOTIONS, "emotion", "ms"])
        for r in rows:
            box = list(r.box) if r.box else ["", "", "", ""]
            scores = r.scores or [""] * len(EMOTIONS)
            emotion = EMOTIONS[r.emotion] if r.emotion >= 0 else ""
            writer.writerow(
                [r.name, EMOTIONS[r.label], r.usage, r.outcome, r.faces, *box, *scores, emotion, f"{r.ms:.3f}"]
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a labelled folder (<Label>/<image>) or the FER2013 test CSV")
    parser.add_argument("--detector", choices=("haar", "mtcnn"), default="haar", help="fer's face detector")
    parser.add_argument(
        "--model", choices=("tflite", "keras"), default="tflite", help="fer's classifier (its default: tflite)"
    )
    parser.add_argument(
        "--offsets", type=int, nargs=2, default=(10, 10), metavar=("X", "Y"), help="fer's box offsets (fer's: 10 10)"
    )
    parser.add_argument("--csv", type=Path, help="write one row per image here")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images (a quick check)")
    args = parser.parse_args()

    source = args.source.expanduser()
    is_csv = source.is_file() and source.name.endswith((".csv", ".csv.gz"))
    if not is_csv and not source.is_dir():
        parser.error(f"no such folder or FER2013 CSV: {source}")
    fer = make_fer("haar" if is_csv else args.detector, args.model, tuple(args.offsets))
    rows: list[Row] = []
    if is_csv:
        items = fer2013_rows(source)[: args.limit or None]
        for name, label, face, usage in items:
            image = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
            rows.append(classify(fer, name, label, image, [FACE_BOX_48], usage))
        title = f"{source.name}: fer {args.model}, face box (0, 0, 48, 48), no detector"
    else:
        items = labelled_images(source)[: args.limit or None]
        for path, label in items:
            name = str(path.relative_to(source))
            image = read_bgr(path)
            if image is None:
                rows.append(Row(name, label, "unreadable"))
                continue
            rows.append(classify(fer, name, label, image, None))
        title = f"{source.name}: fer {args.model}, detector {args.detector}"
    if tuple(args.offsets) != (10, 10):
        title += f", offsets {tuple(args.offsets)} (fer's default: (10, 10))"
    import fer as fer_package
    import tensorflow as tf

    print("\n".join(summarise(rows, title)))
    torch = sys.modules.get("torch")
    print(
        f"fer {fer_package.__version__}, tensorflow {tf.__version__}, opencv {cv2.__version__}, "
        + (f"torch {torch.__version__}, " if torch else "")
        + f"Python {platform.python_version()}"
    )
    if args.csv:
        write_csv(rows, args.csv)
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
