"""Train a model: `python scripts/train.py model=vgg_small` (Hydra overrides, `-m` for sweeps)."""

import hydra
from omegaconf import DictConfig

from facial_emotion.training.resolvers import register_resolvers
from facial_emotion.training.train import train

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = train(cfg)
    return metrics.get(cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
