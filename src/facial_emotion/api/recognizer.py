"""`EmotionRecognizer`: the emotions of the faces in photos, frames and videos, in one object."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from numbers import Real
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.errors import OverrideParseException
from omegaconf import DictConfig
from PIL import Image

from facial_emotion.api.errors import ImageInputError
from facial_emotion.api.images import ImageInput, is_data_uri, to_bgr
from facial_emotion.api.option_names import unknown_option_message
from facial_emotion.api.results import FaceResult, largest_first
from facial_emotion.api.settings import PHOTO_CONFIG, VIDEO_CONFIG, compose_settings, override_value
from facial_emotion.api.video_analysis import analyze_stream, open_video
from facial_emotion.core.preprocessing import LIVE_VIEW, TTA_MODES
from facial_emotion.data.locate import resolve_model_path
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_photo_pipeline, build_pipeline, synchronous
from facial_emotion.video.frame_source import redact_credentials
from facial_emotion.video.pipeline import EmotionPipeline


class EmotionRecognizer:
    """Face detector (MTCNN) -> eyes-level 48x48 crop -> CNN, as the scripts run them.

    Photos and frames (`analyze`, `analyze_batch`, `top_emotion`) use `scripts/predict_image.py`'s settings
    (`configs/predict_image.yaml`); videos (`analyze_video`) use the live stream's
    (`configs/predict_live_stream.yaml`: tracking, smoothing, the detector every 3rd frame). Both are composed from
    the config files, so the API and the scripts give the same answers.

    Args:
        model_path: a model file, or the name of a shipped one (`"my_own_model.pkl"`: FER2013's best);
            None: the one the live stream loads (`results/model/my_own_model_real_faces.pkl`).
        views: test-time views (`center`, `zoomed_center`, `ten_crop`, `live`, ...) for photos and videos alike;
            None: each config's own (photos: the model file's default; videos: `live`, the file's live view).
        backend: how the network runs: auto, torch, onnxruntime, onnxruntime-int8 (docs/speed.md); None: the
            configs' choice (auto).
        overrides: more Hydra overrides applied to both configs, e.g. `["face_pipeline.detect_every=1"]`; one that
            names no option of theirs raises a ValueError naming the closest.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        views: str | None = None,
        backend: str | None = None,
        overrides: Sequence[str] = (),
    ) -> None:
        if isinstance(overrides, str):  # it would be read a character at a time
            raise ValueError(
                f"EmotionRecognizer overrides: a list of key=value strings, got one string (write [{overrides!r}])"
            )
        for config_name in (PHOTO_CONFIG, VIDEO_CONFIG):
            message = unknown_option_message(config_name, list(overrides))
            if message is not None:  # Hydra's own message advises `+key=`, an option nothing would read
                raise ValueError(f"EmotionRecognizer overrides: {message}")
        if model_path is not None and not isinstance(model_path, str | PathLike):
            raise TypeError(f"model_path must be a file path (str or Path), got {type(model_path).__name__}")
        if views is not None and views not in (*TTA_MODES, LIVE_VIEW):
            raise ValueError(f"views must be one of {(*TTA_MODES, LIVE_VIEW)}, got {views!r}")
        extra = [*overrides]
        if model_path is not None:
            extra.append(f"model_path={override_value(str(resolve_model_path(model_path)))}")
        if views is not None:
            extra.append(f"tta={views}")
        try:
            self.photo_settings = compose_settings(PHOTO_CONFIG, extra)
            self.video_settings = compose_settings(VIDEO_CONFIG, extra)
        except OverrideParseException as error:  # e.g. "face_pipeline.detect_every" without "=value"
            raise ValueError(f"EmotionRecognizer overrides: {str(error).splitlines()[0]}") from None
        photo_predictor = _load_predictor(self.photo_settings, backend)
        video_predictor = photo_predictor
        same_network = self.video_settings.model_path == self.photo_settings.model_path
        if not same_network or self.video_settings.tta != self.photo_settings.tta:
            video_predictor = _load_predictor(self.video_settings, backend)
        self._photos = build_photo_pipeline(self.photo_settings.face_pipeline, photo_predictor)
        # A file's table must not depend on how fast the CPU is: detections land on the frame they were run on.
        # Live streams (`stream()`) keep the config's detector thread, so no frame waits for MTCNN.
        self._video = build_pipeline(synchronous(self.video_settings.face_pipeline), video_predictor)
        self._video_lock = threading.Lock()  # one tracking pipeline: analyze_video calls take turns

    @property
    def class_names(self) -> list[str]:
        """The 7 emotions, in the model's order."""
        return list(self._photos.predictor.class_names)

    def analyze(self, image: ImageInput, whole_image_if_no_face: bool = False) -> list[FaceResult]:
        """One result per face, largest first; an image without a face gives `[]`, or with
        `whole_image_if_no_face` one result for the whole image (padded centre square; `whole_image` set), as
        deepface's `enforce_detection=False` does.

        `image`: a file path, an http(s) URL, a `data:image/...;base64,` URI, the bytes of an image file, a BGR
        uint8 numpy array (as OpenCV reads it; grayscale and BGRA are accepted) or a PIL image. Raises
        `ImageInputError` (a `ValueError`) for an unreadable file, URL or bytes, or a wrong array.
        """
        return self.analyze_batch([image], whole_image_if_no_face)[0]

    def analyze_batch(
        self, images: Iterable[ImageInput], whole_image_if_no_face: bool = False
    ) -> list[list[FaceResult]]:
        """`[analyze(image, whole_image_if_no_face) for image in images]`, the classifier run once over all faces."""
        if isinstance(images, str | Path | bytes | Image.Image):  # a string would be read a character at a time
            kind = type(images).__name__
            raise ImageInputError(f"analyze_batch takes a list of images, got one {kind}: use analyze()")
        # One image's pixels (not an array of paths): its rows would be read as (W, C) grey images.
        if isinstance(images, np.ndarray) and images.ndim < 4 and images.dtype.kind not in "OUS":
            raise ImageInputError(
                f"analyze_batch takes a list of images or an (N, H, W, C) array, got one array of shape"
                f" {images.shape}: use analyze()"
            )
        if not isinstance(images, Iterable):
            raise ImageInputError(f"analyze_batch takes a list of images, got {type(images).__name__}")
        frames = [to_bgr(image, name=_describe(image, index)) for index, image in enumerate(images)]
        faces = self._photos.process_batch(frames, whole_image_if_no_face)
        return [largest_first(image_faces, self.class_names) for image_faces in faces]

    def top_emotion(
        self, image: ImageInput, whole_image_if_no_face: bool = False
    ) -> tuple[str, float] | tuple[None, None]:
        """(label, probability) of the largest face; (None, None) when there is no face (unless
        `whole_image_if_no_face`: then the whole image's)."""
        faces = self.analyze(image, whole_image_if_no_face)
        return (faces[0].label, faces[0].probability) if faces else (None, None)

    def analyze_video(
        self,
        source: str | Path | int,
        every: float = 1.0,
        progress: bool | Callable[[int, int | None], None] = True,
        save_video: str | Path | None = None,
        max_seconds: float | None = None,
    ) -> pd.DataFrame:
        """Track every face through every frame of a video file (or camera index) and tabulate its emotions.

        Returns one row per face per `every` seconds of video (the first frame of each interval; `every=0`:
        every frame) with columns time, frame, face_id, x, y, w, h, label, probability and one per emotion
        (the smoothed probabilities the live stream shows). `df.attrs` holds source, fps, frames, duration and
        warning: None, or one line when the file stopped giving frames well before the length its header states
        (cut off or damaged; the rows cover the part read, and the line is printed to stderr too).
        `progress` shows a bar (frames/s, time left), or calls
        `progress(frames done, frames in the file)`; `save_video` writes the annotated video (.mp4);
        `max_seconds` stops after that much video (a camera runs until then or Ctrl-C).
        Raises `VideoInputError` (a `ValueError`) for a missing, empty or undecodable file or a closed camera.
        Calls from several threads run one after another (one recognizer per thread runs videos in parallel).
        """
        if isinstance(every, bool) or not isinstance(every, Real) or not every >= 0:  # Real: numpy's numbers too
            raise ValueError(f"every must be a number of seconds >= 0, got {every!r}")
        if max_seconds is not None and (
            isinstance(max_seconds, bool) or not isinstance(max_seconds, Real) or not max_seconds >= 0
        ):
            raise ValueError(f"max_seconds must be None or a number of seconds >= 0, got {max_seconds!r}")
        every, max_seconds = float(every), None if max_seconds is None else float(max_seconds)
        with self._video_lock:  # from several threads, one after another: interleaved, their tracks would mix
            return analyze_stream(self._video, open_video(source), every, progress, save_video, max_seconds)

    def stream(self) -> EmotionPipeline:
        """A fresh tracking pipeline for one stream of frames (a webcam, one client of the app): its own tracker
        and smoother, the video settings' detector and model; feed it with `.process(frame, timestamp)`."""
        return build_pipeline(self.video_settings.face_pipeline, self._video.predictor)

    @property
    def video_pipeline(self) -> EmotionPipeline:
        """The tracking pipeline `analyze_video` runs (detector, cropper, tracker, predictor, smoother)."""
        return self._video


def _load_predictor(settings: DictConfig, backend: str | None) -> EmotionPredictor:
    """The predictor as the scripts build it; `backend` None: the config's (`auto`: the CPU decides). Photos take
    the file's early exit as `predict_image.py` does (`early_exit=none` in the overrides: every view)."""
    return EmotionPredictor(
        settings.model_path,
        tta=settings.tta,
        backend=backend or settings.backend,
        early_exit=settings.get("early_exit"),
    )


def _describe(image: object, index: int) -> str:
    """How an error names an input: its path or URL (without credentials), else its place in the batch."""
    if isinstance(image, str) and is_data_uri(image):
        return f"data URI {index}"
    if isinstance(image, str) and image.strip():
        return redact_credentials(image)
    return str(image) if isinstance(image, Path) else f"image {index}"
