"""The browser app: `python scripts/serve.py [host=127.0.0.1] [port=8000]` (webcam, video files, photos)."""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import serve
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="serve")
def main(cfg: DictConfig) -> None:
    sys.exit(serve.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("serve")
    main()
