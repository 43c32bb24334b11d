"""Print speed figures: CSV parse, training images/s per precision, inference per backend, threads and batch.

`python scripts/benchmark.py [device=cuda] [models=[vgg_small]] [backends=[torch,onnxruntime]] [threads=[1,2]]
[batches=[1,256]] [train=false] [speed_table=null]`; writes this CPU kind's section of results/model/speed.md.
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks.benchmark import run_benchmark
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="benchmark")
def main(cfg: DictConfig) -> None:
    sys.exit(run_benchmark(cfg))


if __name__ == "__main__":
    main()
