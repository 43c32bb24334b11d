"""Frames per second and per-frame latency (decode, detect, track, classify) of the whole video pipeline.

`python scripts/benchmark_video.py [video=PATH] [width=640 height=480] [face_pipeline.detect_every=3]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import benchmark_video
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="benchmark_video")
def main(cfg: DictConfig) -> None:
    sys.exit(benchmark_video.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("benchmark_video")
    main()
