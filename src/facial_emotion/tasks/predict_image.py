"""`python scripts/predict_image.py path=FILE_OR_DIR`: the emotion of every face in photos, one line per face."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_photo_pipeline
from facial_emotion.video.image_files import (
    IMAGE_KINDS,
    annotated_copy_path,
    describe_skipped,
    find_images,
    read_bgr,
    write_image,
)
from facial_emotion.video.sinks import PredictionLog, describe_faces, draw_faces


def run(cfg: DictConfig) -> None:
    """Detect, crop and classify the faces of each image; print, log and draw them where configured."""
    expand_home(cfg)
    try:
        paths, skipped = find_images(cfg.path)
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, backend=cfg.backend, early_exit=cfg.get("early_exit"))
        log = PredictionLog(cfg.log, predictor.class_names, key="file", record_empty=True) if cfg.log else None
    except (FileNotFoundError, ValueError, OSError) as error:
        sys.exit(f"error: {error}")
    given = Path(cfg.path)
    root = given if given.is_dir() else given.parent
    if skipped:
        print(describe_skipped(skipped, root))
    if not paths:
        sys.exit(f"error: no images ({IMAGE_KINDS}) under {cfg.path}")
    pipeline = build_photo_pipeline(cfg.face_pipeline, predictor)
    for path in paths:
        name = str(path.relative_to(root))
        image = read_bgr(path)
        if image is None:
            print(f"{name} : unreadable image")
            if log is not None:
                log.write_faces(name, [])
            continue
        faces = pipeline.process(image, whole_image_if_no_face=bool(cfg.whole_image_if_no_face))
        for line in describe_faces(name, faces):
            print(line)
        if log is not None:
            log.write_faces(name, faces)
        if cfg.save_dir:
            target = annotated_copy_path(Path(cfg.save_dir) / name)
            try:
                write_image(target, draw_faces(image, faces, predictor.class_names))
            except OSError as error:
                print(f"{name} : annotated copy not written ({error})", file=sys.stderr)
    if log is not None:
        log.close()
