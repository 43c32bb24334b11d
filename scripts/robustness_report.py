"""Targeted (Happy -> Sad) and untargeted attack success rates at 1, 2, 4, 8 grey levels over the test set.

`python scripts/robustness_report.py [tta=center] [limit=N] [budgets=[1,2,4,8]] [source=Happy] [target=Sad]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.adversarial.robustness_cli import run_robustness
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="robustness")
def main(cfg: DictConfig) -> None:
    sys.exit(run_robustness(cfg))


if __name__ == "__main__":
    main()
