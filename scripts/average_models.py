"""Average model files of one network (WiSE-FT): `python scripts/average_models.py 'model_paths=[A,B]' output=C`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import average_models
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="average_models")
def main(cfg: DictConfig) -> None:
    sys.exit(average_models.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("average_models")
    main()
