"""Train a model: `python scripts/train.py model=vgg_small` (Hydra overrides, `-m` for sweeps)."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.export.model_file import ModelFileError
from facial_emotion.training.resolvers import register_resolvers
from facial_emotion.training.train import train

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except (FERDataError, ModelFileError, FileNotFoundError) as error:  # bad input: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    return metrics.get(cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
