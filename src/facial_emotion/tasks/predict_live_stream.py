"""`python scripts/predict_live_stream.py`: the emotion of every face in a webcam or video stream, every second."""

from __future__ import annotations

from omegaconf import DictConfig

from facial_emotion.core.options import exit_with_error, flag, number
from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_pipeline, synchronous
from facial_emotion.video.display import WindowSink, why_no_window
from facial_emotion.video.frame_source import FrameSource, VideoSourceError, parse_source
from facial_emotion.video.pipeline_options import check_pipeline_options
from facial_emotion.video.sinks import AnnotatedVideoWriter, ConsoleSink, PredictionLog
from facial_emotion.video.streaming import feed_sinks


def open_source(cfg: DictConfig) -> FrameSource:
    """The configured source; a camera that cannot be opened falls back to the configured video (not a negative
    camera index, a mistake)."""
    realtime = flag(cfg, "realtime")
    try:
        return FrameSource(cfg.source, realtime=realtime)
    except VideoSourceError as error:
        camera = parse_source(cfg.source)
        if not isinstance(camera, int) or camera < 0:
            raise
        print(f"{error}: falling back to {cfg.fallback_video}")
        return FrameSource(cfg.fallback_video, realtime=realtime)


def open_sinks(cfg: DictConfig, source: FrameSource, class_names: list[str]) -> list:
    """Console lines always; a window, an annotated video and a log where configured."""
    sinks = [ConsoleSink()]
    if flag(cfg, "show"):
        why_not = why_no_window()
        if why_not is None:
            sinks.append(WindowSink(class_names))
        else:
            print(f"Not showing the stream: {why_not} (show=false hides this line)")
    if cfg.save_video:
        if source.is_file_at(cfg.save_video):
            raise ValueError(f"save_video={cfg.save_video} is the video being read: write the annotated copy elsewhere")
        sinks.append(AnnotatedVideoWriter(cfg.save_video, source.fps, class_names, exact_times=not source.is_live))
    if cfg.log:
        sinks.append(PredictionLog(cfg.log, class_names))
    return sinks


def pipeline_config(pipeline_cfg: DictConfig, source: FrameSource) -> DictConfig:
    """The face pipeline's settings for `source`: a file read as fast as it decodes (`realtime=false`) detects
    inline, every `detect_every`-th frame, as `analyze_video` does. On the detector's own thread a detection would
    take the time of many frames where no face is tracked (nothing to classify), so a face that comes back into view
    went unseen for seconds, and the lines and the log depended on the CPU's speed."""
    return pipeline_cfg if source.is_live or source.realtime else synchronous(pipeline_cfg)


def run(cfg: DictConfig) -> None:
    """Run the pipeline over the stream until it ends, `max_seconds` pass, or the window is closed."""
    expand_home(cfg)
    try:
        max_seconds = number(cfg, "max_seconds", above=0)  # null: until the stream ends
        check_pipeline_options(cfg.face_pipeline)
        source = open_source(cfg)
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, backend=cfg.backend, early_exit=cfg.get("early_exit"))
    except (VideoSourceError, FileNotFoundError, ValueError) as error:
        exit_with_error(str(error))
    pipeline = build_pipeline(pipeline_config(cfg.face_pipeline, source), predictor)
    try:
        sinks = open_sinks(cfg, source, predictor.class_names)
    except (OSError, ValueError) as error:
        exit_with_error(str(error))
    print(f"Reading video stream ... ({source.description})")
    try:
        feed_sinks(pipeline.run(source), sinks, max_seconds)
        if not source.is_live:  # frames skipped at the end of a file played in real time: the video still lasts
            end = source.end_time
            for sink in sinks:
                if isinstance(sink, AnnotatedVideoWriter):
                    sink.hold_until(end if max_seconds is None else min(end, max_seconds))
    except KeyboardInterrupt:
        print("Stopped.")
    except OSError as error:  # the annotated video or the log could not be written (a full disk)
        exit_with_error(str(error))
    finally:
        source.close()
        for sink in sinks:
            sink.close()
