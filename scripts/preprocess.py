"""Cut one 48x48 grayscale face per second out of a video: image0.png, image1.png, ...

`python scripts/preprocess.py [video=PATH] [output_dir=DIR]`; a second without a face is reported.
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import preprocess
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="preprocess")
def main(cfg: DictConfig) -> None:
    sys.exit(preprocess.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("preprocess")
    main()
