"""Give faces stable ids across frames (greedy IoU association) and smooth their emotion probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from facial_emotion.video.face_detector import DetectedFace


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes -> (N, M)."""
    a, b = np.asarray(a, dtype=np.float32).reshape(-1, 4), np.asarray(b, dtype=np.float32).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).clip(0).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).clip(0).prod(axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class EmotionSmoother:
    """Exponential moving average of probabilities: `alpha` is the weight of the newest frame (1 = none)."""

    def __init__(self, alpha: float = 0.4) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = float(alpha)

    def smooth(self, previous: np.ndarray | None, current: np.ndarray) -> np.ndarray:
        """The new average; the first observation of a track is taken as is."""
        if previous is None:
            return np.asarray(current, dtype=np.float32)
        return (self.alpha * current + (1.0 - self.alpha) * previous).astype(np.float32)


@dataclass
class Track:
    """One face followed over time; `velocity` is the box centre's motion in pixels per frame, measured between
    the detections that saw it (the last at `seen_centre`, in the frame `frames_since_seen` frames before the
    current one), not from where `predict` moved the box."""

    track_id: int
    face: DetectedFace
    missed: int = 0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.float32))
    probabilities: np.ndarray | None = None
    frames_since_seen: int = 0
    seen_centre: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.seen_centre = _centre(self.face.box)

    @property
    def box(self) -> np.ndarray:
        return self.face.box


class IouTracker:
    """Associates detections with tracks by IoU; a track unmatched in over `max_missed` updates is dropped.

    Between detections `predict` moves every track along its velocity (constant-velocity model; speeds under
    `still_speed` face widths a frame are a still head's jitter, not followed), so the boxes keep up with a moving
    face without running the detector; a detection that finished some frames after
    the frame it was run on (on a worker thread) is moved on by as many frames of its track's velocity.
    """

    def __init__(
        self, iou_threshold: float = 0.3, max_missed: int = 2, velocity_decay: float = 0.5, still_speed: float = 0.005
    ) -> None:
        self.iou_threshold = float(iou_threshold)
        self.max_missed = int(max_missed)
        self.velocity_decay = float(velocity_decay)
        self.still_speed = float(still_speed)
        self.reset()

    def reset(self) -> None:
        """Forget every track; ids start again at 1 (a new video)."""
        self.tracks: list[Track] = []
        self._next_id = 1

    def predict(self) -> list[Track]:
        """Advance every track by one frame of its motion (`_step`); returns the live tracks."""
        for track in self.tracks:
            track.face = track.face.shifted(self._step(track))
            track.frames_since_seen += 1
        return list(self.tracks)

    def _step(self, track: Track) -> np.ndarray:
        """How far the motion model moves `track` in one frame: its velocity less `still_speed` face widths a frame
        (a head held still jitters in its detections by about that much; following the jitter misplaced boxes)."""
        speed = float(np.linalg.norm(track.velocity))
        still = self.still_speed * float(track.box[2] - track.box[0])
        return track.velocity * (1 - still / speed) if speed > still else np.zeros(2, dtype=np.float32)

    def update(self, faces: Sequence[DetectedFace], frames_ago: int = 0) -> list[Track]:
        """Match detections to tracks (a frame of its own: `predict` is not called for it); returns the tracks seen
        in this update, in the order of `faces`. `frames_ago`: the faces were detected in the frame that many
        frames before this one (an asynchronous detection); they are matched where the tracks were then and moved
        on to now by their velocity."""
        for track in self.tracks:
            track.frames_since_seen += 1
        matched = self._associate(faces, frames_ago)
        seen: list[Track] = []
        for index, face in enumerate(faces):
            track = matched.get(index)
            if track is None:
                track = Track(self._next_id, face, frames_since_seen=frames_ago)
                self._next_id += 1
                self.tracks.append(track)
            else:
                centre = _centre(face.box)
                measured = (centre - track.seen_centre) / max(track.frames_since_seen - frames_ago, 1)
                track.velocity = self.velocity_decay * track.velocity + (1 - self.velocity_decay) * measured
                track.face, track.missed = face.shifted(self._step(track) * frames_ago) if frames_ago else face, 0
                track.seen_centre, track.frames_since_seen = centre, frames_ago
            seen.append(track)
        seen_ids = {track.track_id for track in seen}
        for track in self.tracks:
            if track.track_id not in seen_ids:
                track.missed += 1
                track.velocity = np.zeros(2, dtype=np.float32)
        self.tracks = [track for track in self.tracks if track.missed <= self.max_missed]
        return seen

    def _associate(self, faces: Sequence[DetectedFace], frames_ago: int = 0) -> dict[int, Track]:
        """Greedy: the highest-IoU (detection, track) pair first, each used once, IoU above the threshold; each
        track's box taken back `frames_ago` frames along its velocity, to the frame the faces were detected in."""
        if not faces or not self.tracks:
            return {}
        then = [track.box - np.tile(self._step(track) * frames_ago, 2) for track in self.tracks]
        iou = box_iou(np.stack([face.box for face in faces]), np.stack(then))
        matches: dict[int, Track] = {}
        used_tracks: set[int] = set()
        for flat in np.argsort(-iou, axis=None):
            face_index, track_index = np.unravel_index(flat, iou.shape)
            if iou[face_index, track_index] < self.iou_threshold:
                break
            if face_index in matches or track_index in used_tracks:
                continue
            matches[int(face_index)] = self.tracks[track_index]
            used_tracks.add(int(track_index))
        return matches


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], dtype=np.float32)
