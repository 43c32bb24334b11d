"""Print a Markdown table comparing model files: `python scripts/compare_models.py ['model_paths=[...]']`."""

import sys
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from facial_emotion.evaluation.model_comparison import compare_model, markdown_table
from facial_emotion.export.model_file import ModelFileError
from facial_emotion.training.hardware import describe_device
from facial_emotion.training.resolvers import register_resolvers

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="compare_models")
def main(cfg: DictConfig) -> None:
    print(f"Hardware: {describe_device(cfg.device)}; torch {torch.__version__}", flush=True)
    try:
        rows = [compare_model(Path(p), cfg.device, tuple(cfg.batches)) for p in cfg.model_paths]
    except (ModelFileError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
