"""Read per-epoch scalars from a run's TensorBoard event files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_epoch_scalars(
    log_dir: Path, tags: tuple[str, ...] = ("train/loss", "train/acc", "val/loss", "val/acc")
) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(epoch, value), ...]}; epochs are counted from the order values were logged (0-based).

    A folder that does not exist has no scalars ({}), as does one without event files.
    """
    if not Path(log_dir).is_dir():
        return {}
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    available = set(accumulator.Tags().get("scalars", []))
    return {
        tag: [(epoch, event.value) for epoch, event in enumerate(accumulator.Scalars(tag))]
        for tag in tags
        if tag in available
    }


def concatenate_stages(
    stages: Sequence[dict[str, list[tuple[int, float]]]],
) -> tuple[dict[str, list[tuple[int, float]]], list[int]]:
    """Scalars of consecutive training stages (e.g. a run, then its fine-tuning) on one epoch axis.

    Returns the joined scalars and the first epoch of every stage after the first.
    """
    joined: dict[str, list[tuple[int, float]]] = {}
    starts: list[int] = []
    offset = 0
    for index, scalars in enumerate(stages):
        if index:
            starts.append(offset)
        for tag, points in scalars.items():
            joined.setdefault(tag, []).extend((offset + epoch, value) for epoch, value in points)
        offset += max((len(points) for points in scalars.values()), default=0)
    return joined, starts
