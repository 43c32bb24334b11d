"""Compare the runs of a sweep: `python scripts/compare_runs.py path=outputs/train/multiruns/<sweep> [metric=...]`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import compare_runs
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="compare_runs")
def main(cfg: DictConfig) -> None:
    sys.exit(compare_runs.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("compare_runs")
    main()
