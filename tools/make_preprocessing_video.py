"""Build results/preprocessing_test/input_video.mp4: 20 s of real FER2013 test faces on a background.

`python tools/make_preprocessing_video.py [--seconds 20] [--out PATH]`. The face changes expression
every 2.5 s (a different test image), drifts across the frame and grows and shrinks; only images that
MTCNN finds at the smallest and largest scale used are kept.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import PROJECT_ROOT, default_data_dir, require_csv
from facial_emotion.video.face_detector import FaceDetector

DEFAULT_OUTPUT = PROJECT_ROOT / "results" / "preprocessing_test" / "input_video.mp4"
FRAME_SIZE = (640, 480)
FPS = 25
SEGMENT_SECONDS = 2.5
EXPRESSIONS = ["Happy", "Surprise", "Neutral", "Sad", "Angry", "Happy", "Fear", "Neutral"]
FACE_SIDES = (150, 230)  # smallest and largest face side in pixels
CLASS_NAMES = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]


def background(rng: np.random.Generator) -> np.ndarray:
    """A soft grey-blue gradient with blurred texture, like an out-of-focus room."""
    height, width = FRAME_SIZE[1], FRAME_SIZE[0]
    ramp = np.linspace(70, 150, width, dtype=np.float32)[None, :, None]
    base = np.broadcast_to(ramp, (height, width, 3)) * np.array([1.0, 0.95, 0.85], dtype=np.float32)
    texture = cv2.GaussianBlur(rng.normal(0, 40, (height, width, 3)).astype(np.float32), (0, 0), 9)
    return np.clip(base + texture, 0, 255).astype(np.uint8)


def feathered_mask(side: int) -> np.ndarray:
    """An ellipse of weight 1 fading to 0 at the square's edges, shape (side, side, 1)."""
    yy, xx = np.mgrid[-1 : 1 : side * 1j, -1 : 1 : side * 1j]
    radius = np.sqrt(xx**2 / 0.95**2 + yy**2)
    return np.clip((1.0 - radius) / 0.15, 0, 1)[..., None].astype(np.float32)


def paste_face(frame: np.ndarray, face: np.ndarray, centre: tuple[float, float], side: int) -> None:
    """Upscale a 48x48 face to `side` pixels and blend it onto `frame` around `centre` (in place)."""
    big = cv2.cvtColor(cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
    left, top = int(centre[0] - side / 2), int(centre[1] - side / 2)
    region = frame[top : top + side, left : left + side].astype(np.float32)
    mask = feathered_mask(side)
    frame[top : top + side, left : left + side] = (mask * big + (1 - mask) * region).astype(np.uint8)


def detectable(face: np.ndarray, detector: FaceDetector, canvas: np.ndarray) -> bool:
    """True when MTCNN finds the face pasted at the smallest and at the largest side."""
    for side in FACE_SIDES:
        frame = canvas.copy()
        paste_face(frame, face, (FRAME_SIZE[0] / 2, FRAME_SIZE[1] / 2), side)
        if not detector.detect(frame):
            return False
    return True


def pick_faces(images: np.ndarray, labels: np.ndarray, detector: FaceDetector, canvas: np.ndarray) -> list:
    """One detectable test image per entry of EXPRESSIONS, never the same image twice."""
    chosen: list[int] = []
    for name in EXPRESSIONS:
        candidates = np.flatnonzero(labels == CLASS_NAMES.index(name))
        fresh = (int(i) for i in candidates if int(i) not in chosen)
        index = next(i for i in fresh if detectable(images[i], detector, canvas))
        chosen.append(index)
        print(f"{name:<8} test image {index}")
    return [images[i] for i in chosen]


def face_path(t: float, seconds: float) -> tuple[tuple[float, float], int]:
    """Centre and side of the face at time t: a slow Lissajous drift and a breathing scale."""
    phase = 2 * np.pi * t / seconds
    side = int(np.interp(np.sin(3 * phase), [-1, 1], FACE_SIDES))
    margin_x, margin_y = FRAME_SIZE[0] / 2 - FACE_SIDES[1] / 2 - 4, FRAME_SIZE[1] / 2 - FACE_SIDES[1] / 2 - 4
    centre = (FRAME_SIZE[0] / 2 + margin_x * np.sin(2 * phase), FRAME_SIZE[1] / 2 + margin_y * np.sin(phase))
    return centre, side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    arrays = load_fer_csv(require_csv(default_data_dir(), "test_with_emotions.csv"))
    canvas = background(np.random.default_rng(0))
    faces = pick_faces(arrays.images, arrays.labels, FaceDetector(max_side=FRAME_SIZE[0]), canvas)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(args.out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, FRAME_SIZE)
    for frame_index in range(int(args.seconds * FPS)):
        t = frame_index / FPS
        frame = canvas.copy()
        centre, side = face_path(t, args.seconds)
        paste_face(frame, faces[int(t / SEGMENT_SECONDS) % len(faces)], centre, side)
        writer.write(frame)
    writer.release()
    print(f"wrote {args.out} ({args.seconds:.0f} s, {FRAME_SIZE[0]}x{FRAME_SIZE[1]}, {FPS} fps)")


if __name__ == "__main__":
    main()
