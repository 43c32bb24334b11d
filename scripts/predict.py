"""Evaluate a model file on test_with_emotions.csv: `python scripts/predict.py [model_path=...] [tta=...]`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.evaluation.evaluate_cli import run_evaluation
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    sys.exit(run_evaluation(cfg))


if __name__ == "__main__":
    main()
