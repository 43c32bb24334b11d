"""Build the video pipeline's parts from the `video` config group."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.face_aligner import FaceCropper
from facial_emotion.video.face_detector import FaceDetector
from facial_emotion.video.pipeline import EmotionPipeline


def build_detector(pipeline_cfg: DictConfig) -> FaceDetector:
    return instantiate(pipeline_cfg.detector)


def build_cropper(pipeline_cfg: DictConfig) -> FaceCropper:
    return instantiate(pipeline_cfg.cropper)


def build_pipeline(pipeline_cfg: DictConfig, predictor: EmotionPredictor) -> EmotionPipeline:
    """Detector, cropper, tracker and smoother from config around an already loaded predictor."""
    return EmotionPipeline(
        detector=build_detector(pipeline_cfg),
        cropper=build_cropper(pipeline_cfg),
        tracker=instantiate(pipeline_cfg.tracker),
        predictor=predictor,
        smoother=instantiate(pipeline_cfg.smoother),
        detect_every=pipeline_cfg.detect_every,
        async_detection=pipeline_cfg.async_detection,
    )
