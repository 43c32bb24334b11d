"""Emotion timelines of many videos, one Hydra run each (any launcher: basic, submitit_local, slurm).

`python scripts/analyze_videos.py -m video=a.mp4,b.mp4` or `videos=DIR` or `'videos=clips/*.mp4'`
[every=1.0] [save_video=true] [hydra/launcher=submitit_local]. See configs/analyze_videos.yaml.
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks.analyze_videos import InputError, analyze_one_video, sweep_arguments
from facial_emotion.tasks.option_names import refuse_unknown_options

try:
    sys.argv = sweep_arguments(sys.argv)
except InputError as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)


@hydra.main(version_base="1.3", config_path="../configs", config_name="analyze_videos")
def main(cfg: DictConfig) -> None:
    analyze_one_video(cfg)


if __name__ == "__main__":
    refuse_unknown_options("analyze_videos")
    main()
