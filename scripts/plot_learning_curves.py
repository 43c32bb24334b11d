"""Plot a run's learning curves: `python scripts/plot_learning_curves.py run_dir=outputs/train/runs/<run>`.

A run that continued earlier ones (init_from) is drawn after them: `'earlier_run_dirs=[<stage 1 run>]'`.
"""

import re
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from facial_emotion.evaluation.plots import plot_learning_curves
from facial_emotion.evaluation.tensorboard_scalars import concatenate_stages, read_epoch_scalars
from facial_emotion.export.model_file import load_model_file
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="learning_curves")
def main(cfg: DictConfig) -> None:
    stages = []
    for run_dir in [*cfg.earlier_run_dirs, cfg.run_dir]:
        stages.append(read_epoch_scalars(Path(run_dir) / "tensorboard"))
        if not stages[-1]:
            sys.exit(f"error: no TensorBoard scalars under {Path(run_dir) / 'tensorboard'}")
    scalars, stage_starts = concatenate_stages(stages)
    best = load_model_file(Path(cfg.model_path)).training.get("best_checkpoint", "")
    match = re.search(r"epoch_(\d+)", best)
    best_epoch = int(match.group(1)) + (stage_starts[-1] if stage_starts else 0) if match else None
    plot_learning_curves(scalars, best_epoch, Path(cfg.output), stage_starts, cfg.note)
    print(f"Wrote {cfg.output}")


if __name__ == "__main__":
    main()
