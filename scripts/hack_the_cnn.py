"""Hack the CNN: an invisible change that makes the model see Sad in a Happy face.

`python scripts/hack_the_cnn.py [source=Happy] [target=Sad] [max_budget=2] [index=N | image=PATH]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import hack_the_cnn
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="hack_the_cnn")
def main(cfg: DictConfig) -> None:
    sys.exit(hack_the_cnn.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("hack_the_cnn")
    main()
