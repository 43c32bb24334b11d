"""Refit a model file's temperatures on validation: `python scripts/calibrate.py [model_path=...]`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import calibrate
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="calibrate")
def main(cfg: DictConfig) -> None:
    sys.exit(calibrate.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("calibrate")
    main()
