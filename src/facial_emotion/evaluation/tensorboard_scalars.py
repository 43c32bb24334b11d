"""Read per-epoch scalars from a run's TensorBoard event files."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_epoch_scalars(
    log_dir: Path, tags: tuple[str, ...] = ("train/loss", "train/acc", "val/loss", "val/acc")
) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(epoch, value), ...]}; epochs are counted from the order values were logged (0-based)."""
    accumulator = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    available = set(accumulator.Tags().get("scalars", []))
    return {
        tag: [(epoch, event.value) for epoch, event in enumerate(accumulator.Scalars(tag))]
        for tag in tags
        if tag in available
    }
