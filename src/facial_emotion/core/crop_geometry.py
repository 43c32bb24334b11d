"""Where a face sits in a model's 48x48 input: recorded in the model file, used by every face cropper.

Training images (FER2013) have one framing; a photo, a video frame or the live stream must be cut to the
same one, so the geometry travels with the weights instead of living in a config file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

CROP_METHODS = ("landmarks", "box")


@dataclass(frozen=True)
class CropGeometry:
    """How a detected face becomes the model's square input.

    `landmarks`: a similarity transform (rotation, uniform scale, shift) takes the detector's five landmarks
    (eyes, nose, mouth corners) onto `targets`, (x, y) in pixels of the `size` x `size` crop.
    `box`: the detector box, squared and grown by `margin`, its centre moved down by `center_shift` times the
    side, rotated so the eyes are level (the cropper before landmark alignment; needs no target positions).
    """

    method: str = "box"
    targets: tuple[tuple[float, float], ...] = ()
    margin: float = 0.2
    center_shift: float = 0.1
    size: int = 48
    source: str = ""  # how the targets were measured and chosen

    def __post_init__(self) -> None:
        if self.method not in CROP_METHODS:
            raise ValueError(f"crop method must be one of {CROP_METHODS}, got {self.method!r}")
        if self.method == "landmarks" and len(self.targets) != 5:
            raise ValueError(f"landmark alignment needs 5 (x, y) targets, got {len(self.targets)}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["targets"] = [list(point) for point in self.targets]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CropGeometry:
        data = dict(data)
        data["targets"] = tuple((float(x), float(y)) for x, y in data.get("targets", ()))
        return cls(**data)

    def overridden(self, **overrides: Any) -> CropGeometry:
        """A copy with the given fields replaced; a None value means "not set" and keeps the recorded one."""
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})
