"""Emotion of every face in a webcam or video stream, printed once per second of stream.

`python scripts/predict_live_stream.py [source=0|PATH] [max_seconds=N] [show=false] [save_video=PATH]
[log=PATH.csv|.jsonl] [realtime=false] [tta=center] [model_path=PATH]`. Without a camera it falls back
to results/preprocessing_test/input_video.mp4.
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.training.resolvers import register_resolvers
from facial_emotion.video.build import build_pipeline
from facial_emotion.video.config import register_face_pipeline_config
from facial_emotion.video.display import WindowSink, display_available
from facial_emotion.video.frame_source import FrameSource, VideoSourceError, parse_source
from facial_emotion.video.sinks import AnnotatedVideoWriter, ConsoleSink, PredictionLog
from facial_emotion.video.streaming import feed_sinks

register_resolvers()
register_face_pipeline_config()


def open_source(cfg: DictConfig) -> FrameSource:
    """The configured source; a camera that cannot be opened falls back to the configured video."""
    realtime = bool(cfg.realtime)
    try:
        return FrameSource(cfg.source, realtime=realtime)
    except VideoSourceError as error:
        if not isinstance(parse_source(cfg.source), int):
            raise
        print(f"{error}: falling back to {cfg.fallback_video}")
        return FrameSource(cfg.fallback_video, realtime=realtime)


def open_sinks(cfg: DictConfig, source: FrameSource, class_names: list[str]) -> list:
    sinks = [ConsoleSink()]
    if cfg.show:
        if display_available():
            sinks.append(WindowSink(class_names))
        else:
            print("No display: not showing the stream (show=false hides this line)")
    if cfg.save_video:
        sinks.append(AnnotatedVideoWriter(cfg.save_video, source.fps, class_names))
    if cfg.log:
        sinks.append(PredictionLog(cfg.log, class_names))
    return sinks


@hydra.main(version_base="1.3", config_path="../configs", config_name="live_stream")
def main(cfg: DictConfig) -> None:
    try:
        source = open_source(cfg)
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta)
    except (VideoSourceError, FileNotFoundError, ValueError) as error:
        sys.exit(f"error: {error}")
    pipeline = build_pipeline(cfg.face_pipeline, predictor)
    try:
        sinks = open_sinks(cfg, source, predictor.class_names)
    except (OSError, ValueError) as error:
        sys.exit(f"error: {error}")
    print(f"Reading video stream ... ({source.description})")
    try:
        feed_sinks(pipeline.run(source), sinks, cfg.max_seconds)
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        source.close()
        for sink in sinks:
            sink.close()


if __name__ == "__main__":
    main()
