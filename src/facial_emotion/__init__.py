"""Facial emotion recognition on FER2013: training with Lightning + Hydra, inference on video streams.

`from facial_emotion import EmotionRecognizer` is the Python API (`facial_emotion.api`); it is imported on
first use, so `import facial_emotion.data` and the like do not load the video stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_API_NAMES = ("EmotionRecognizer", "FaceResult", "InputError", "plot_timeline")


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        return getattr(importlib.import_module("facial_emotion.api"), name)
    raise AttributeError(f"module 'facial_emotion' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API_NAMES])
