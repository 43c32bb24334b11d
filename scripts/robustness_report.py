"""Targeted (Happy -> Sad) and untargeted attack success rates at 1, 2, 4, 8 grey levels over the test set.

`python scripts/robustness_report.py [tta=center] [limit=N] [budgets=[1,2,4,8]] [source=Happy] [target=Sad]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import robustness_report
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="robustness_report")
def main(cfg: DictConfig) -> None:
    sys.exit(robustness_report.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("robustness_report")
    main()
