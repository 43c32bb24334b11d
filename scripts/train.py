"""Train a model: `python scripts/train.py model=vgg_small` (Hydra overrides, `-m` for sweeps)."""

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import train
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    return train.run(cfg)  # the metric an Optuna sweep optimises


if __name__ == "__main__":
    refuse_unknown_options("train")
    main()
