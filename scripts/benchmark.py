"""Print speed figures: CSV parse (cold/cached), training images/s per precision, inference ms/face.

`python scripts/benchmark.py [device=cuda] [models=vgg_small,vgg_large] [steps=20] [model_path=...]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import benchmark
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="benchmark")
def main(cfg: DictConfig) -> None:
    sys.exit(benchmark.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("benchmark")
    main()
