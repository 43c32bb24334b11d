"""Round trip and frames/s of the app's live WebSocket: `python scripts/benchmark_app.py [clients=8] [seconds=60]`."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import benchmark_app
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="benchmark_app")
def main(cfg: DictConfig) -> None:
    sys.exit(benchmark_app.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("benchmark_app")
    main()
