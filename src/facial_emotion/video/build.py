"""Build the video pipeline's parts from the `face_pipeline` config group."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig

from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.options import flag
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.face_aligner import FaceCropper, FaceWarper
from facial_emotion.video.face_detector import FaceDetector
from facial_emotion.video.landmark_aligner import LandmarkAligner
from facial_emotion.video.photo_pipeline import PhotoPipeline
from facial_emotion.video.pipeline import EmotionPipeline
from facial_emotion.video.pipeline_options import check_pipeline_options


def build_detector(pipeline_cfg: DictConfig) -> FaceDetector:
    return instantiate(pipeline_cfg.detector)


def crop_geometry(pipeline_cfg: DictConfig, recorded: CropGeometry) -> CropGeometry:
    """The model file's crop geometry with the `face_pipeline.cropper` values that are set (not null)."""
    cropper = pipeline_cfg.cropper
    return recorded.overridden(
        method=cropper.get("method"), margin=cropper.get("margin"), center_shift=cropper.get("center_shift")
    )


def cropper_for(geometry: CropGeometry) -> FaceWarper:
    """The cropper that cuts faces with `geometry`."""
    if geometry.method == "landmarks":
        return LandmarkAligner(geometry.targets, size=geometry.size)
    return FaceCropper(margin=geometry.margin, center_shift=geometry.center_shift, size=geometry.size)


def build_cropper(pipeline_cfg: DictConfig, recorded: CropGeometry) -> FaceWarper:
    """The cropper for a model whose file records `recorded`, with config overrides applied."""
    return cropper_for(crop_geometry(pipeline_cfg, recorded))


def synchronous(pipeline_cfg: DictConfig) -> DictConfig:
    """The face pipeline's settings with detection inline: a video file's lines and table land on the frames the
    detector ran on, whatever the CPU's speed (analyze_video, `predict_live_stream.py realtime=false`)."""
    inline = pipeline_cfg.copy()
    inline.async_detection = False
    return inline


def build_pipeline(pipeline_cfg: DictConfig, predictor: EmotionPredictor) -> EmotionPipeline:
    """Detector, cropper, tracker and smoother from config around an already loaded predictor; OptionError naming a
    `face_pipeline.*` value its option cannot take."""
    check_pipeline_options(pipeline_cfg)
    return EmotionPipeline(
        detector=build_detector(pipeline_cfg),
        cropper=build_cropper(pipeline_cfg, predictor.model.crop_geometry),
        tracker=instantiate(pipeline_cfg.tracker),
        predictor=predictor,
        smoother=instantiate(pipeline_cfg.smoother),
        detect_every=pipeline_cfg.detect_every,
        async_detection=flag(pipeline_cfg, "async_detection"),
        lookahead_detection=flag(pipeline_cfg, "lookahead_detection"),
        full_detection_every=pipeline_cfg.full_detection_every,
        stable_detect_every=pipeline_cfg.stable_detect_every,
    )


def build_photo_pipeline(pipeline_cfg: DictConfig, predictor: EmotionPredictor) -> PhotoPipeline:
    """Detector and cropper from config (crop geometry from the predictor's model file) around `predictor`;
    OptionError naming a `face_pipeline.*` value its option cannot take."""
    check_pipeline_options(pipeline_cfg)
    return PhotoPipeline(
        build_detector(pipeline_cfg), build_cropper(pipeline_cfg, predictor.model.crop_geometry), predictor
    )
