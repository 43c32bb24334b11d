"""Emotion of every face in a photo or a folder of photos, one line per face.

`python scripts/predict_image.py path=FILE_OR_DIR_OR_URL [log=PATH.csv] [save_dir=DIR] [tta=center]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import predict_image
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="predict_image")
def main(cfg: DictConfig) -> None:
    sys.exit(predict_image.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("predict_image")
    main()
