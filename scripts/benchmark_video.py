"""Frames per second and per-frame latency (decode, detect, track, classify) of the whole video pipeline.

`python scripts/benchmark_video.py [video=PATH] [width=640 height=480] [backend=auto] [threads=2]
[side_by_side=[CLIP2,CLIP3]] [face_pipeline.async_detection=false] [face_pipeline.detect_every=3]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks.benchmark_video import run_video_benchmark
from facial_emotion.training.resolvers import register_resolvers
from facial_emotion.video.config import register_face_pipeline_config

register_resolvers()
register_face_pipeline_config()


@hydra.main(version_base="1.3", config_path="../configs", config_name="benchmark_video")
def main(cfg: DictConfig) -> None:
    sys.exit(run_video_benchmark(cfg))


if __name__ == "__main__":
    main()
