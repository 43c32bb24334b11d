"""Plot a run's learning curves: `python scripts/plot_learning_curves.py run_dir=outputs/train/runs/<run>`."""

import re
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from facial_emotion.evaluation.plots import plot_learning_curves
from facial_emotion.evaluation.tensorboard_scalars import read_epoch_scalars
from facial_emotion.export.model_file import load_model_file
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="learning_curves")
def main(cfg: DictConfig) -> None:
    scalars = read_epoch_scalars(Path(cfg.run_dir) / "tensorboard")
    if not scalars:
        sys.exit(f"error: no TensorBoard scalars under {Path(cfg.run_dir) / 'tensorboard'}")
    best = load_model_file(Path(cfg.model_path)).training.get("best_checkpoint", "")
    match = re.search(r"epoch_(\d+)", best)
    plot_learning_curves(scalars, int(match.group(1)) if match else None, Path(cfg.output))
    print(f"Wrote {cfg.output}")


if __name__ == "__main__":
    main()
