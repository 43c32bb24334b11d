"""Write a model file's architecture text: `python scripts/write_architecture.py [model_path=...] [notes=FILE]`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import write_architecture
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="write_architecture")
def main(cfg: DictConfig) -> None:
    sys.exit(write_architecture.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("write_architecture")
    main()
