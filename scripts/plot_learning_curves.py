"""Plot a run's learning curves: `python scripts/plot_learning_curves.py run_dir=outputs/train/runs/<run>`.

A run that continued earlier ones (init_from) is drawn after them: `'earlier_run_dirs=[<stage 1 run>]'`.
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import plot_learning_curves
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="plot_learning_curves")
def main(cfg: DictConfig) -> None:
    sys.exit(plot_learning_curves.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("plot_learning_curves")
    main()
