"""Feed the pipeline's results to the sinks until the stream ends."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from facial_emotion.video.pipeline import FrameResult


def feed_sinks(results: Iterable[FrameResult], sinks: Sequence, max_seconds: float | None = None) -> None:
    """Write each result to every sink; stop at the end of the stream, after `max_seconds` of stream time,
    or when a sink says it has `stopped` (its window was closed)."""
    for result in results:
        if max_seconds is not None and result.timestamp >= max_seconds:
            break
        for sink in sinks:
            sink.write(result)
        if any(getattr(sink, "stopped", False) for sink in sinks):
            break
