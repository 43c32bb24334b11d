"""Dev helper: how well the tracker's boxes between detections match MTCNN run on every frame.

`python tools/tracking_error.py [VIDEO ...] [--frames N] [--still-speed S ...] [--every K ...] [--pan PX] [--latency L]`

Every frame of each video (default: `../shared/videos/*.mp4`, the first `--frames` 300 of each) is detected with the
face pipeline's MTCNN settings; the tracker then sees every K-th frame's faces (`detect_every` 3; 9 is
`stable_detect_every`) and predicts the frames between. For each still_speed (and `hold`: no motion model) it prints
the mean and 10th-percentile IoU of each predicted box with the frame's best-matching detection. `--pan 4`: each
video seen through a 400x360 window sliding 4 px a frame, turning at the frame's edges (a camera pan). `--latency 2`:
each detection reaches the tracker 2 frames after its frame, as from the live stream's detection thread, with and
without the tracker told so. The figures in docs/video.md ("Every 3rd frame") come from this script.
"""

from __future__ import annotations

import argparse
import functools
import glob
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from facial_emotion.video.face_detector import DetectedFace, FaceDetector
from facial_emotion.video.tracker import IouTracker, box_iou

SHARED_VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "videos"


def detect_every_frame(path: str, frames: int, detector: FaceDetector, pan: int = 0) -> list[list[DetectedFace]]:
    """The faces MTCNN finds in each of the first `frames` frames of the video at `path` (through a window sliding
    `pan` px a frame, if given)."""
    capture, found, left = cv2.VideoCapture(path), [], 0
    while len(found) < frames:
        ok, frame = capture.read()
        if not ok:
            break
        if pan:
            height, width = frame.shape[:2]
            window_w, window_h = min(400, width - 40), min(360, height)
            top = (height - window_h) // 2
            frame = frame[top : top + window_h, left : left + window_w]
            pan = pan if 0 <= left + pan <= width - window_w else -pan
            left += pan
        found.append(detector.detect(frame))
    capture.release()
    return found


def predicted_ious(
    videos: list[list[list[DetectedFace]]],
    make: Callable[[], IouTracker],
    every: int,
    latency: int = 0,
    aged: bool = True,
) -> np.ndarray:
    """IoU of each box the tracker predicts between detections with the frame's best-matching detection.

    `latency` > 0: each detection (of every `every`-th frame, while none is pending) reaches the tracker that many
    frames later, as the live stream's detection thread delivers it; `aged` passes `frames_ago=latency` (the
    tracker matches where the tracks were then and moves the faces on to now), else the late faces are taken as
    the current frame's (the tracker before it knew). The boxes of a delivery frame are predictions too, scored."""
    ious: list[float] = []
    for faces in videos:
        tracker, pending = make(), None
        for index, found in enumerate(faces):
            if latency == 0 and index % every == 0:
                tracker.update(found)
                continue
            if pending is not None and index - pending[0] >= latency:
                tracks = tracker.update(pending[1], frames_ago=latency if aged else 0)
                pending = None
            else:
                tracks = [track for track in tracker.predict() if track.missed == 0]
            if latency and pending is None and index % every == 0:
                pending = (index, found)
            if tracks and found:
                iou = box_iou(np.stack([t.box for t in tracks]), np.stack([f.box for f in found]))
                ious.extend(iou.max(axis=1).tolist())
    return np.asarray(ious)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", default=sorted(glob.glob(str(SHARED_VIDEOS / "*.mp4"))))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--still-speed", type=float, nargs="+", default=[0.0, 0.005, 0.01])
    parser.add_argument("--every", type=int, nargs="+", default=[3, 9])
    parser.add_argument("--pan", type=int, default=0, help="px a frame of a sliding 400x360 window; 0: none")
    parser.add_argument("--latency", type=int, default=0, help="frames a detection takes to reach the tracker")
    args = parser.parse_args()
    detector = FaceDetector()
    videos = [detect_every_frame(path, args.frames, detector, args.pan) for path in args.videos]
    print(f"{len(videos)} videos, {sum(map(len, videos))} frames")
    variants = {"hold": functools.partial(IouTracker, velocity_decay=1.0)}
    variants |= {f"still_speed={s}": functools.partial(IouTracker, still_speed=s) for s in args.still_speed}
    for every in args.every:
        for name, make in variants.items():
            for aged in (True, False) if args.latency else (True,):
                ious = predicted_ious(videos, make, every, args.latency, aged)
                label = name + ("" if not args.latency else ", frames_ago" if aged else ", taken as now")
                p10 = np.percentile(ious, 10)
                print(f"every {every} {label:31s} mean IoU {ious.mean():.4f}  p10 {p10:.4f}  n={len(ious)}")


if __name__ == "__main__":
    main()
