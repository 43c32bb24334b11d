"""Run the tracking pipeline over a whole video (or a camera) and collect its timeline as a DataFrame."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from facial_emotion.api.errors import VideoInputError
from facial_emotion.api.timeline import TimelineRecorder
from facial_emotion.video.frame_source import FrameSource, VideoSourceError, stream_end
from facial_emotion.video.pipeline import EmotionPipeline, FrameResult
from facial_emotion.video.sinks import AnnotatedVideoWriter
from facial_emotion.video.streaming import feed_sinks


def open_video(source: str | Path | int) -> FrameSource:
    """A file read as fast as it decodes, or a camera; a `VideoInputError` naming it when it cannot be used."""
    if isinstance(source, bool) or not isinstance(source, str | Path | Integral):
        raise VideoInputError(f"expected a video path, a stream URL or a camera index, got {type(source).__name__}")
    if isinstance(source, Integral):  # numpy's integers too
        source = int(source)
        if source < 0:  # OpenCV's VideoCapture(-1) crashes the interpreter without a camera
            raise VideoInputError(f"camera {source}: a camera index is 0 or more (0: the first camera)")
    try:
        return FrameSource(str(source) if isinstance(source, Path) else source, realtime=False)
    except VideoSourceError as error:
        raise VideoInputError(str(error)) from None


class ProgressBar:
    """A sink that advances a tqdm bar per frame: frames/s and, for files, the time left."""

    def __init__(self, source: FrameSource) -> None:
        name = source.description if source.is_live else Path(str(source.source)).name
        self._bar = tqdm(total=source.frame_count, unit="frame", desc=name, dynamic_ncols=True)

    def write(self, result: FrameResult) -> None:
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class ProgressCallback:
    """A sink that calls `report(frames done, frames in the file or None)` after each frame."""

    def __init__(self, report: Callable[[int, int | None], None], source: FrameSource) -> None:
        self._report, self._total, self._done = report, source.frame_count, 0

    def write(self, result: FrameResult) -> None:
        self._done += 1
        self._report(self._done, self._total)

    def close(self) -> None:
        pass


def analyze_stream(
    pipeline: EmotionPipeline,
    source: FrameSource,
    every: float = 1.0,
    progress: bool | Callable[[int, int | None], None] = True,
    save_video: str | Path | None = None,
    max_seconds: float | None = None,
) -> pd.DataFrame:
    """Every frame of `source` through `pipeline` (reset first); rows every `every` s; see `analyze_video`."""
    names = pipeline.predictor.class_names
    if save_video is not None and source.is_file_at(save_video):
        source.close()
        raise VideoInputError(f"save_video={save_video} is the video being analysed: write the copy elsewhere")
    recorder = TimelineRecorder(names, every)
    sinks: list = [recorder]
    try:
        if save_video is not None:
            sinks.append(AnnotatedVideoWriter(save_video, source.fps, names, exact_times=not source.is_live))
        if callable(progress):
            sinks.append(ProgressCallback(progress, source))
        elif progress:
            sinks.append(ProgressBar(source))
        pipeline.reset()
        feed_sinks(pipeline.run(source), sinks, max_seconds)
    except KeyboardInterrupt:  # a camera runs until stopped: keep what was recorded
        pass
    finally:
        source.close()
        for sink in sinks:
            sink.close()
    frame = recorder.to_dataframe()
    frame.attrs.update(
        source=source.description,
        fps=source.fps,
        frames=recorder.frames,
        duration=recorder.last_time if source.is_live else stream_end(recorder.last_time, recorder.frames, source.fps),
        warning=source.warning,  # a file that ended well before its stated length: the rows cover the part read
    )
    return frame
