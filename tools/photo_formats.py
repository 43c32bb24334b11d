"""Dev helper: does the photo pipeline keep its answers when a photo comes in another format?

`python tools/photo_formats.py [FOLDER ...] [--every N] [--formats NAME ...] [--override KEY=VALUE ...]`

Real-face sets the product is judged on come as whole studio photos, tight dataset crops (100x100 aligned faces,
224x224 crops), grey scans, small or large images, heavy JPEG. Each labelled photo of the folders (default: nimstim
and penn_er40 in ../shared/faces; `--every N` keeps every N-th photo, sorted) is read as it is and in each of those
formats, made from the photo itself around the face the pipeline found in it (photos with no face as they are are
left out). For each format the script prints the accuracy, the share of photos with a face found, the share whose
label matches the photo's as-is label, and the time per photo; the table in docs/real_faces.md ("Other photo
formats") comes from it. `EmotionRecognizer()` with its defaults: what `predict_image.py` and the API run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from facial_emotion import EmotionRecognizer

SHARED_FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
Box = tuple[float, float, float, float]


def grey(image: np.ndarray) -> np.ndarray:
    """The photo as a grey scan, three equal channels."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """The photo after a JPEG round trip at `quality`."""
    _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def dataset_crop(image: np.ndarray, box: Box, size: int, margin: float) -> np.ndarray:
    """A square crop around the face `box` (x, y, w, h), `margin` of its side added on each side, resized to `size`."""
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    left, top = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2))
    height, width = image.shape[:2]
    crop = image[max(0, top) : min(height, top + int(side)), max(0, left) : min(width, left + int(side))]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_CUBIC)


FORMATS: dict[str, Callable[[np.ndarray, Box], np.ndarray]] = {
    "grey": lambda image, box: grey(image),
    "a quarter of the size": lambda image, box: cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA),
    "3x the size": lambda image, box: cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC),
    "JPEG quality 20": lambda image, box: jpeg(image, 20),
    "40% of the light": lambda image, box: (image.astype(np.float32) * 0.4).astype(np.uint8),
    "tilted 15 degrees": lambda image, box: cv2.warpAffine(
        image,
        cv2.getRotationMatrix2D((box[0] + box[2] / 2, box[1] + box[3] / 2), 15, 1.0),
        image.shape[1::-1],
        borderMode=cv2.BORDER_REPLICATE,
    ),
    "crop 100x100, face box": lambda image, box: dataset_crop(image, box, 100, 0.0),
    "crop 100x100, +10%": lambda image, box: dataset_crop(image, box, 100, 0.1),
    "crop 224x224, +25%": lambda image, box: dataset_crop(image, box, 224, 0.25),
    "crop 48x48 grey, +10%": lambda image, box: grey(dataset_crop(image, box, 48, 0.1)),
}


def labelled_photos(folders: list[Path], every: int) -> list[tuple[Path, str]]:
    """(photo, label) for each photo in each folder's class subfolders, every `every`-th of each folder."""
    photos: list[tuple[Path, str]] = []
    for folder in folders:
        found = sorted(path for path in folder.glob("*/*") if path.is_file())
        photos += [(path, path.parent.name) for path in found[::every]]
    return photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=[SHARED_FACES / "nimstim", SHARED_FACES / "penn_er40"])
    parser.add_argument("--every", type=int, default=1, help="keep every N-th photo of each folder")
    parser.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS), metavar="FORMAT")
    parser.add_argument("--override", action="append", default=[], help="a predict_image option, e.g. early_exit=none")
    args = parser.parse_args()
    recognizer = EmotionRecognizer(overrides=args.override)
    formats = {name: FORMATS[name] for name in args.formats}
    # per format: photos right, photos with a face, photos labelled as they are as is, seconds
    tally = {name: np.zeros(4) for name in ["as it is", *formats]}
    counted = 0
    for path, label in labelled_photos(args.folders, args.every):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        start = time.perf_counter()
        as_is = recognizer.analyze(image) if image is not None else []
        if not as_is:
            continue
        counted += 1
        tally["as it is"] += (as_is[0].label == label, 1, 1, time.perf_counter() - start)
        for name, convert in formats.items():
            start = time.perf_counter()
            faces = recognizer.analyze(convert(image, as_is[0].box))
            seconds = time.perf_counter() - start
            if faces:
                tally[name] += (faces[0].label == label, 1, faces[0].label == as_is[0].label, seconds)
            else:
                tally[name][3] += seconds
    print(f"{counted} photos with a face as they are ({', '.join(str(folder) for folder in args.folders)})")
    print("| format | accuracy | face found | same label as as-is | ms per photo |\n|---|---|---|---|---|")
    for name, (right, found, same, seconds) in tally.items():
        shares = " | ".join(f"{100 * count / max(counted, 1):.1f}%" for count in (right, found, same))
        print(f"| {name} | {shares} | {1000 * seconds / max(counted, 1):.0f} |")


if __name__ == "__main__":
    main()
