"""Hack the CNN: an invisible change that makes the model see Sad in a Happy face.

`python scripts/hack_the_cnn.py [source=Happy] [target=Sad] [max_budget=2] [index=N | image=PATH]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.adversarial.hack_cli import run_hack
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="hack")
def main(cfg: DictConfig) -> None:
    sys.exit(run_hack(cfg))


if __name__ == "__main__":
    main()
