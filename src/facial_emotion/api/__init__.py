"""The Python API: `EmotionRecognizer` for photos, frames and videos; `plot_timeline` for its video tables."""

from facial_emotion.api.errors import ImageInputError, InputError, VideoInputError
from facial_emotion.api.recognizer import EmotionRecognizer
from facial_emotion.api.results import FaceResult, to_dataframe
from facial_emotion.api.timeline import plot_timeline
from facial_emotion.core.model_file import ModelFileError

__all__ = [
    "EmotionRecognizer",
    "FaceResult",
    "ImageInputError",
    "InputError",
    "ModelFileError",
    "VideoInputError",
    "plot_timeline",
    "to_dataframe",
]
