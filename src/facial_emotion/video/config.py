"""The `face_pipeline` config group (detector, cropper, tracker, smoother), shared by the video scripts.

It is registered in Hydra's ConfigStore rather than kept in `configs/` so that a script can still take a
plain `video=PATH` override (a `configs/video/` folder would make `video` a config group).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore


@dataclass
class DetectorConfig:
    _target_: str = "facial_emotion.video.face_detector.FaceDetector"
    min_face_size: int = 30  # pixels at detection resolution
    thresholds: list[float] = field(default_factory=lambda: [0.6, 0.7, 0.7])
    max_side: int = 320  # frames are downscaled so their longer side is at most this before MTCNN
    min_score: float = 0.9


@dataclass
class CropperConfig:
    _target_: str = "facial_emotion.video.face_aligner.FaceCropper"
    # Chosen by accuracy of the committed model on ../shared/faces (134 labelled photos):
    # margin 0.0 -> 81.3%, 0.1 -> 80.6%, 0.2 -> 85.1%, 0.3 -> 78.4% (all with centre shift 0.1).
    margin: float = 0.2
    center_shift: float = 0.1


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
    async_detection: bool = True  # MTCNN on its own thread: frames are classified while a detection runs


def register_face_pipeline_config() -> None:
    """Make `- face_pipeline: default` available to the defaults lists (call before `@hydra.main`)."""
    ConfigStore.instance().store(group="face_pipeline", name="default", node=FacePipelineConfig)
