"""Emotion of every face in a webcam or video stream, printed once per second of stream.

`python scripts/predict_live_stream.py [source=0|PATH] [max_seconds=N] [show=false] [save_video=PATH]
[log=PATH.csv|.jsonl] [realtime=false] [tta=center] [model_path=PATH]`. Without a camera it falls back
to results/preprocessing_test/input_video.mp4.
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import predict_live_stream
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="predict_live_stream")
def main(cfg: DictConfig) -> None:
    sys.exit(predict_live_stream.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("predict_live_stream")
    main()
