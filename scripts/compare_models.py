"""Print a Markdown table comparing model files: `python scripts/compare_models.py ['model_paths=[...]']`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import compare_models
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="compare_models")
def main(cfg: DictConfig) -> None:
    sys.exit(compare_models.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("compare_models")
    main()
