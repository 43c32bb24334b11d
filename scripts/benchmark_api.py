"""Frames/s of `EmotionRecognizer.analyze_video` beside `predict_live_stream.py realtime=false` on one clip.

`python scripts/benchmark_api.py [video=PATH] [repeats=3] [threads=2]`
"""

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks.benchmark_api import benchmark_api
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="benchmark_api")
def main(cfg: DictConfig) -> None:
    benchmark_api(cfg)


if __name__ == "__main__":
    refuse_unknown_options("benchmark_api")
    main()
