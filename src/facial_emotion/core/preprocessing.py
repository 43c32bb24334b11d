"""The preprocessing record of a model file: how a 48x48 uint8 face becomes network input, and which views.

A `Preprocessing` is recorded in every model file, so inference applies exactly what the model was validated
with. The tensor operations that apply it are in `facial_emotion.augmentation.preprocessing`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# A mode is an optional scale prefix + a view set. `zoomed_` takes the views of the face shrunk halfway
# to the crop size (48 -> 44 px for 40-px crops), so each crop sees more of the face; `multi_scale_`
# takes them at both sizes. On the validation split multi_scale_ten_crop raised the accuracy of all four
# models tried (by 0.3-1.0 points over ten_crop); more crops at one scale did not. zoomed_center is one
# view, as cheap as center (the live stream's choice).
SINGLE_SCALE_VIEWS = {"center": 1, "hflip": 2, "ten_crop": 10}
SCALE_PREFIXES = {"multi_scale_": (False, True), "zoomed_": (True,)}  # prefix -> zoomed out? per scale
TTA_MODES = (*SINGLE_SCALE_VIEWS, "zoomed_center", "multi_scale_hflip", "multi_scale_ten_crop")
ALL_VIEWS = "multi_scale_ten_crop"  # every other mode's views are a subset of its 20
LIVE_VIEW = "live"  # as a `tta` argument: the view the model file records for the live stream (`live_view`)


@dataclass(frozen=True)
class Preprocessing:
    """How a 48x48 uint8 face becomes network input. `tta` picks the views whose softmax is averaged;
    `early_exit` (`core.early_exit`, "" for none) lets sure faces stop at cheaper views first;
    `early_exit_temperatures`: the temperature of the faces stopping at each of its stages, then at `tta`.
    `tone`: None, or (mean, standard deviation) in pixel values that each face's central `crop_size` square is
    brought to before normalisation (`augmentation.preprocessing.normalize_tone`), in training and inference.
    `live_view`: the views the live stream, the app's webcam and videos run (`tta=live`), chosen per file."""

    input_size: int = 48
    crop_size: int = 40
    mean: float = 0.5
    std: float = 0.25
    tta: str = "ten_crop"
    early_exit: str = ""
    early_exit_temperatures: tuple[float, ...] = ()
    tone: tuple[float, float] | None = None
    live_view: str = "zoomed_center"

    def __post_init__(self) -> None:
        # A model file stores a list; the record stays hashable and comparable as a tuple.
        object.__setattr__(self, "early_exit_temperatures", tuple(float(t) for t in self.early_exit_temperatures))
        if self.tone is not None:
            if len(self.tone) != 2 or float(self.tone[1]) <= 0:
                raise ValueError(f"tone must be (mean, standard deviation > 0) in pixel values, got {self.tone!r}")
            object.__setattr__(self, "tone", (float(self.tone[0]), float(self.tone[1])))
        for field, mode in (("tta", self.tta), ("live_view", self.live_view)):
            if mode not in TTA_MODES:
                raise ValueError(f"{field} must be one of {TTA_MODES}, got {mode!r}")
        if not 0 < self.crop_size <= self.input_size:
            raise ValueError(f"crop_size must be in 1..{self.input_size}, got {self.crop_size}")

    def to_dict(self) -> dict:
        tone = None if self.tone is None else list(self.tone)
        return {**asdict(self), "early_exit_temperatures": list(self.early_exit_temperatures), "tone": tone}


def split_tta(tta: str) -> tuple[tuple[bool, ...], str]:
    """A mode -> (for each scale: zoomed out?, the view set taken at every scale)."""
    for prefix, scales in SCALE_PREFIXES.items():
        if tta.startswith(prefix):
            return scales, tta.removeprefix(prefix)
    return (False,), tta


def views_within_all(tta: str) -> list[int]:
    """Indices of `tta`'s views among multi_scale_ten_crop's 20, in `test_time_views`' order.

    The 20 are ten views of the face, then the same ten of the face shrunk (zoomed out); each ten is the four
    corners and the centre, then their mirror images. So one pass over the 20 gives every mode's logits.
    """
    scales, view_set = split_tta(tta)
    single = {"center": [4], "hflip": [4, 9], "ten_crop": list(range(10))}[view_set]
    return [10 * int(zoomed) + index for zoomed in scales for index in single]


def views_per_image(tta: str) -> int:
    """How many views `test_time_views` makes per image."""
    scales, view_set = split_tta(tta)
    return len(scales) * SINGLE_SCALE_VIEWS[view_set]
