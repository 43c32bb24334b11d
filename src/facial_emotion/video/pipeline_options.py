"""The face pipeline's options (`face_pipeline.*`), checked before anything is built or loaded.

`face_pipeline.detect_every=abc` was a traceback from inside the pipeline, `face_pipeline.detector.max_side=-5`
silently found no face in any frame and `face_pipeline.async_detection=maybe` was read as yes: each is now one
`OptionError` line naming the option, its value and what it takes.
"""

from __future__ import annotations

import math
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from facial_emotion.core.options import OptionError, as_float, flag

PREFIX = "face_pipeline"
# key: (whole number, smallest, largest); None: no bound
NUMBERS: dict[str, tuple[bool, float | None, float | None]] = {
    "detect_every": (True, 1, None),
    "stable_detect_every": (True, 0, None),
    "full_detection_every": (True, 1, None),
    "detector.min_face_size": (True, 1, None),
    "detector.max_side": (True, 12, None),  # MTCNN's first network reads 12x12
    "detector.min_score": (False, 0, 1),
    "detector.pad": (False, 0, None),
    "tracker.iou_threshold": (False, 0, 1),
    "tracker.max_missed": (True, 0, None),
    "tracker.velocity_decay": (False, 0, 1),
    "tracker.still_speed": (False, 0, None),
    "smoother.alpha": (False, 0, 1),
    "cropper.margin": (False, 0, None),  # null: the model file's
    "cropper.center_shift": (False, -1, 1),
}
FLAGS = ("async_detection", "lookahead_detection")
CROPPER_METHODS = ("landmarks", "box")


def check_pipeline_options(pipeline_cfg: DictConfig) -> None:
    """OptionError, in one line naming `face_pipeline.<key>`, for the first value its option cannot take."""
    for key, (integer, smallest, largest) in NUMBERS.items():
        value = OmegaConf.select(pipeline_cfg, key, default=None)
        if value is not None:
            _check_number(key, value, integer, smallest, largest)
    for key in FLAGS:
        try:
            flag(pipeline_cfg, key)
        except OptionError:
            raise OptionError(f"{PREFIX}.{key} must be true or false, got {pipeline_cfg.get(key)!r}") from None
    method = OmegaConf.select(pipeline_cfg, "cropper.method", default=None)
    if method is not None and method not in CROPPER_METHODS:
        raise OptionError(f"{PREFIX}.cropper.method must be null, {' or '.join(CROPPER_METHODS)}, got {method!r}")
    thresholds = OmegaConf.select(pipeline_cfg, "detector.thresholds", default=None)
    if thresholds is not None and not _three_fractions(thresholds):
        raise OptionError(
            f"{PREFIX}.detector.thresholds must be three numbers between 0 and 1 (MTCNN's stages), got "
            f"{_shown(thresholds)}"
        )


def _check_number(key: str, value: Any, integer: bool, smallest: float | None, largest: float | None) -> None:
    parsed = as_float(value)
    kind = "a whole number" if integer else "a number"
    bounds = [f">= {smallest:g}" if smallest is not None else "", f"<= {largest:g}" if largest is not None else ""]
    wanted = f"{kind} {' and '.join(b for b in bounds if b)}".strip()
    if (
        not math.isfinite(parsed)
        or (integer and not parsed.is_integer())
        or (smallest is not None and parsed < smallest)
        or (largest is not None and parsed > largest)
    ):
        raise OptionError(f"{PREFIX}.{key} must be {wanted}, got {_shown(value)}")


def _three_fractions(value: Any) -> bool:
    if not isinstance(value, ListConfig | list | tuple) or len(value) != 3:
        return False
    return all(0 <= as_float(v) <= 1 for v in value)


def _shown(value: Any) -> str:
    return repr(OmegaConf.to_container(value) if isinstance(value, DictConfig | ListConfig) else value)
