"""Cut one 48x48 grayscale face per second out of a video: image0.png, image1.png, ...

`python scripts/preprocess.py [video=PATH] [output_dir=DIR]`; a second without a face is reported.
"""

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from facial_emotion.adversarial.face_io import save_face_png
from facial_emotion.export.model_file import ModelFileError, load_model_file
from facial_emotion.training.resolvers import register_resolvers
from facial_emotion.video.build import build_cropper, build_detector
from facial_emotion.video.config import register_face_pipeline_config
from facial_emotion.video.face_sampler import faces_per_second
from facial_emotion.video.frame_source import FrameSource, VideoSourceError

register_resolvers()
register_face_pipeline_config()


@hydra.main(version_base="1.3", config_path="../configs", config_name="preprocess")
def main(cfg: DictConfig) -> None:
    try:
        source = FrameSource(cfg.video)
        geometry = load_model_file(cfg.model_path).crop_geometry
    except (VideoSourceError, ModelFileError) as error:
        sys.exit(f"error: {error}")
    output_dir = Path(cfg.output_dir)
    print(f"Reading {source.description}; faces go to {output_dir}")
    saved, missing = 0, []
    for second, face in faces_per_second(
        source, build_detector(cfg.face_pipeline), build_cropper(cfg.face_pipeline, geometry), cfg.tries_per_second
    ):
        if face is None:
            missing.append(second)
            print(f"second {second}: no face found")
            continue
        save_face_png(face, output_dir / f"image{second}.png")
        saved += 1
    print(f"{saved} images written to {output_dir}" + (f"; no face in seconds {missing}" if missing else ""))


if __name__ == "__main__":
    main()
