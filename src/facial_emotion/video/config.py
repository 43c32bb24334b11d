"""The `face_pipeline` config group (detector, cropper, tracker, smoother), shared by the video scripts.

It is registered in Hydra's ConfigStore rather than kept in `configs/` so that a script can still take a
plain `video=PATH` override (a `configs/video/` folder would make `video` a config group).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class DetectorConfig:
    _target_: str = "facial_emotion.video.face_detector.FaceDetector"
    min_face_size: int = 30  # pixels at detection resolution
    thresholds: list[float] = field(default_factory=lambda: [0.6, 0.7, 0.7])
    max_side: int = 320  # frames are downscaled so their longer side is at most this before MTCNN
    min_score: float = 0.9
    pad: float = 0.0  # replicate-pad each side by this fraction before detecting (photos that are mostly face)
    retries: list[Any] = field(default_factory=list)  # DetectionAttempt fields, tried in turn while none is found


@dataclass
class CropperConfig:
    """Crop geometry is the model file's (`crop_geometry`); a value set here overrides the recorded one."""

    method: str | None = None  # landmarks (similarity transform onto FER2013's mean landmarks) | box
    margin: float | None = None  # box method: the box's longer side grows by this fraction
    center_shift: float | None = None  # box method: the square's centre moves down by this times its side


@dataclass
class TrackerConfig:
    _target_: str = "facial_emotion.video.tracker.IouTracker"
    iou_threshold: float = 0.3
    max_missed: int = 2  # detector runs without the face before its id is dropped


@dataclass
class SmootherConfig:
    _target_: str = "facial_emotion.video.tracker.EmotionSmoother"
    alpha: float = 0.4  # weight of the newest frame in the moving average


@dataclass
class FacePipelineConfig:
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    cropper: CropperConfig = field(default_factory=CropperConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    smoother: SmootherConfig = field(default_factory=SmootherConfig)
    detect_every: int = 3  # run MTCNN on every Nth frame; the tracker's motion model fills the others


LENIENT_STAGES = [0.3, 0.4, 0.4]
PHOTO_RETRIES = (
    {"pad": 0.1, "equalize": True, "thresholds": LENIENT_STAGES},
    {"pad": 0.4, "equalize": True, "thresholds": LENIENT_STAGES},
    {"pad": 0.25, "equalize": True, "thresholds": LENIENT_STAGES, "factor": 0.85, "min_score": 0.8},
    {"pad": 0.25, "thresholds": LENIENT_STAGES, "min_score": 0.8},
)


@dataclass
class PhotoDetectorConfig(DetectorConfig):
    """Photos are not time-critical: detection at a higher resolution, and a face that fills the photo (a
    dataset crop, a profile picture) is found by padding it and, failing that, by retrying equalised and with
    lenient first stages (sfew_train: faces found 62% as is, 89% padded by 25%, 97.1% with the retries; the
    retries run only on photos where nothing was found, so nimstim and penn_er40 stay at 100%)."""

    max_side: int = 640
    pad: float = 0.25
    retries: list[Any] = field(default_factory=lambda: [dict(retry) for retry in PHOTO_RETRIES])


@dataclass
class PhotoPipelineConfig(FacePipelineConfig):
    detector: DetectorConfig = field(default_factory=PhotoDetectorConfig)


def register_face_pipeline_config() -> None:
    """Make `- face_pipeline: default` (video) and `- face_pipeline: photo` available to the defaults lists
    (call before `@hydra.main`)."""
    ConfigStore.instance().store(group="face_pipeline", name="default", node=FacePipelineConfig)
    ConfigStore.instance().store(group="face_pipeline", name="photo", node=PhotoPipelineConfig)
