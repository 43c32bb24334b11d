"""`python scripts/predict_image.py path=FILE_OR_DIR_OR_URL`: the emotion of every face in photos, one per line."""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from facial_emotion.api.images import is_web_url, to_bgr
from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_photo_pipeline
from facial_emotion.video.frame_source import redact_credentials
from facial_emotion.video.image_files import (
    IMAGE_KINDS,
    IMAGE_SUFFIXES,
    annotated_copy_path,
    describe_skipped,
    find_images,
    read_bgr,
    write_image,
)
from facial_emotion.video.photo_pipeline import PhotoPipeline
from facial_emotion.video.sinks import PredictionLog, describe_faces, draw_faces


def run(cfg: DictConfig) -> None:
    """Detect, crop and classify the faces of each image (a file, a folder, or an http(s) URL); print, log and
    draw them where configured."""
    expand_home(cfg)
    url = str(cfg.path) if is_web_url(str(cfg.path)) else None
    shown_url = redact_credentials(url) if url else None
    try:
        paths, skipped = ([], []) if url else find_images(cfg.path)
        photo = to_bgr(url, shown_url) if url else None  # a bad URL fails before the model loads
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, backend=cfg.backend, early_exit=cfg.get("early_exit"))
        log = PredictionLog(cfg.log, predictor.class_names, key="file", record_empty=True) if cfg.log else None
    except (FileNotFoundError, ValueError, OSError) as error:  # a bad URL or download: ImageInputError (ValueError)
        sys.exit(f"error: {error}")
    pipeline = build_photo_pipeline(cfg.face_pipeline, predictor)
    if url:
        report_photo(cfg, pipeline, log, shown_url, photo, copy_name=url_file_name(url))
    else:
        given = Path(cfg.path)
        root = given if given.is_dir() else given.parent
        if skipped:
            print(describe_skipped(skipped, root))
        if not paths:
            sys.exit(f"error: no images ({IMAGE_KINDS}) under {cfg.path}")
        for path in paths:
            name = str(path.relative_to(root))
            report_photo(cfg, pipeline, log, name, read_bgr(path), copy_name=name)
    if log is not None:
        log.close()


def report_photo(
    cfg: DictConfig,
    pipeline: PhotoPipeline,
    log: PredictionLog | None,
    name: str,
    image: np.ndarray | None,
    copy_name: str,
) -> None:
    """One photo: a line per face (or `unreadable image`), its log rows, its annotated copy under `copy_name`."""
    if image is None:
        print(f"{name} : unreadable image")
        if log is not None:
            log.write_faces(name, [])
        return
    faces = pipeline.process(image, whole_image_if_no_face=bool(cfg.whole_image_if_no_face))
    for line in describe_faces(name, faces):
        print(line)
    if log is not None:
        log.write_faces(name, faces)
    if cfg.save_dir:
        target = annotated_copy_path(Path(cfg.save_dir) / copy_name)
        try:
            write_image(target, draw_faces(image, faces, pipeline.predictor.class_names))
        except OSError as error:
            print(f"{name} : annotated copy not written ({error})", file=sys.stderr)


def url_file_name(url: str) -> str:
    """The file name an annotated copy of a downloaded photo gets: the URL's last path part (`.png` appended where
    that is not an image file name, as for `show.php`), else `photo.png`."""
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name or "photo"
    return name if Path(name).suffix.lower() in IMAGE_SUFFIXES else f"{name}.png"
