"""`python scripts/preprocess.py [video=PATH] [output_dir=DIR]`: one 48x48 grayscale face per second of video."""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import DictConfig
from PIL import Image

from facial_emotion.adversarial.face_io import save_face_png
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import OptionError, exit_with_error, number, path_option
from facial_emotion.core.user_paths import expand_home
from facial_emotion.models.loading import load_model_file
from facial_emotion.video.build import build_cropper, build_detector
from facial_emotion.video.face_sampler import faces_per_second
from facial_emotion.video.frame_source import FrameSource, VideoSourceError
from facial_emotion.video.pipeline_options import check_pipeline_options

FACE_FILE = re.compile(r"image\d+\.png")  # what this script writes: image0.png, image1.png, ...


def run(cfg: DictConfig) -> None:
    """Write image0.png, image1.png, ... into `cfg.output_dir`; a second without a face is reported."""
    expand_home(cfg)
    try:
        tries_per_second = number(cfg, "tries_per_second", minimum=1, integer=True)
        check_pipeline_options(cfg.face_pipeline)
        output_dir = path_option(cfg.output_dir)
        if output_dir is None or output_dir.is_file():
            raise OptionError(f"output_dir must be a folder, got {cfg.output_dir!r}")
        source = FrameSource(cfg.video)
        geometry = load_model_file(cfg.model_path).crop_geometry
        replaced = remove_earlier_faces(output_dir, geometry.size)
    except (VideoSourceError, ModelFileError, OptionError, OSError) as error:
        exit_with_error(str(error))
    print(f"Reading {source.description}; faces go to {output_dir}")
    if replaced:
        print(f"Removed {replaced} face images of an earlier run from {output_dir}")
    saved, missing = 0, []
    for second, face in faces_per_second(
        source, build_detector(cfg.face_pipeline), build_cropper(cfg.face_pipeline, geometry), tries_per_second
    ):
        if face is None:
            missing.append(second)
            print(f"second {second}: no face found")
            continue
        save_face_png(face, output_dir / f"image{second}.png")
        saved += 1
    print(f"{saved} images written to {output_dir}" + (f"; no face in seconds {missing}" if missing else ""))


def remove_earlier_faces(output_dir: Path, size: int = 48) -> int:
    """Delete the `image<N>.png` files an earlier run wrote into `output_dir` (the folder then holds this video's
    faces only, not a mix of two videos'); how many. Other files are left alone.

    Raises OptionError, before anything is deleted, when an `image<N>.png` there is not a `size` x `size` grey face
    as this script writes (a user's own `image1.png`, which this run would delete or write over).
    """
    earlier = sorted(path for path in output_dir.glob("image*.png") if FACE_FILE.fullmatch(path.name))
    foreign = [path for path in earlier if not is_face_crop(path, size)]
    if foreign:
        raise OptionError(
            f"output_dir={output_dir} holds {foreign[0].name}, not a {size}x{size} face of an earlier run (this run "
            "would write over it): choose another folder"
        )
    for path in earlier:
        path.unlink()
    return len(earlier)


def is_face_crop(path: Path, size: int) -> bool:
    """Whether `path` is a `size` x `size` 8-bit grey PNG, as `save_face_png` writes them (read from its header)."""
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.mode == "L" and image.size == (size, size)
    except (OSError, ValueError):  # not an image at all (PIL's UnidentifiedImageError is an OSError)
        return False
