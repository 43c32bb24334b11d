"""Evaluate a model file on test_with_emotions.csv: `python scripts/predict.py [model_path=...] [tta=...]`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import predict
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    sys.exit(predict.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("predict")
    main()
