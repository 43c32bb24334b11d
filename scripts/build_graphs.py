"""Build the int8 graph `backend=auto` runs on the CPU, once: `python scripts/build_graphs.py`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import build_graphs
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="build_graphs")
def main(cfg: DictConfig) -> None:
    sys.exit(build_graphs.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("build_graphs")
    main()
