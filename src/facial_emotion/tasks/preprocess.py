"""`python scripts/preprocess.py [video=PATH] [output_dir=DIR]`: one 48x48 grayscale face per second of video."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.adversarial.face_io import save_face_png
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.user_paths import expand_home
from facial_emotion.models.loading import load_model_file
from facial_emotion.video.build import build_cropper, build_detector
from facial_emotion.video.face_sampler import faces_per_second
from facial_emotion.video.frame_source import FrameSource, VideoSourceError


def run(cfg: DictConfig) -> None:
    """Write image0.png, image1.png, ... into `cfg.output_dir`; a second without a face is reported."""
    expand_home(cfg)
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
