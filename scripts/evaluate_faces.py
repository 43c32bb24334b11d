"""Accuracy of the photo pipeline on a labelled folder of real faces (`<Label>/<image>`, FER2013 class names).

`python scripts/evaluate_faces.py path=DIR [crop=given] [log=FILE.csv] [confusion_png=FILE.png]
[table=results/model/real_faces.md] [model_path=...] [tta=...]`
"""

import sys

import hydra
from omegaconf import DictConfig

from facial_emotion.tasks import evaluate_faces
from facial_emotion.tasks.option_names import refuse_unknown_options


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate_faces")
def main(cfg: DictConfig) -> None:
    sys.exit(evaluate_faces.run(cfg))


if __name__ == "__main__":
    refuse_unknown_options("evaluate_faces")
    main()
