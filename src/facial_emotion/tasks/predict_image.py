"""`python scripts/predict_image.py path=FILE_OR_DIR_OR_URL`: the emotion of every face in photos, one per line."""

from __future__ import annotations

import signal
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from facial_emotion.api.images import is_web_url, to_bgr
from facial_emotion.core.options import exit_with_error, flag, path_option, require_options
from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_photo_pipeline
from facial_emotion.video.frame_source import redact_credentials
from facial_emotion.video.image_files import (
    IMAGE_KINDS,
    IMAGE_SUFFIXES,
    annotated_copy_path,
    describe_skipped,
    describe_unlistable,
    find_images,
    read_bgr_or_reason,
    write_image,
)
from facial_emotion.video.photo_pipeline import PhotoPipeline
from facial_emotion.video.pipeline_options import check_pipeline_options
from facial_emotion.video.sinks import PredictionLog, describe_faces, draw_faces


def run(cfg: DictConfig) -> None:
    """Detect, crop and classify the faces of each image (a file, a folder, or an http(s) URL); print, log and
    draw them where configured."""
    expand_home(cfg)
    require_options(cfg, path="an image, a folder of images or an http(s) URL")
    url = str(cfg.path) if is_web_url(str(cfg.path)) else None
    shown_url = redact_credentials(url) if url else None
    try:
        whole_image_if_no_face = flag(cfg, "whole_image_if_no_face")
        check_pipeline_options(cfg.face_pipeline)
        paths, skipped, unlistable = ([], [], []) if url else find_images(cfg.path)
        check_copies_keep_photos(cfg, paths)
        paths, copies = leave_out_copies(cfg, paths)
        photo = to_bgr(url, shown_url) if url else None  # a bad URL fails before the model loads
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, backend=cfg.backend, early_exit=cfg.get("early_exit"))
        log = PredictionLog(cfg.log, predictor.class_names, key="file", record_empty=True) if cfg.log else None
    except (FileNotFoundError, ValueError, OSError) as error:  # a bad URL or download: ImageInputError (ValueError)
        exit_with_error(str(error))
    pipeline = build_photo_pipeline(cfg.face_pipeline, predictor)
    options = PhotoOptions(whole_image_if_no_face, path_option(cfg.save_dir))
    if url:
        report_photo(options, pipeline, log, shown_url, photo, copy_name=url_file_name(url))
    else:
        root = photo_root(cfg.path)
        if skipped:
            print(describe_skipped(skipped, root))
        for line in describe_unlistable(unlistable, root):  # their photos are unknown: a line each, as unreadable
            print(line)
        not_listed = f" ({len(unlistable)} folder(s) under it could not be listed)" if unlistable else ""
        single_file = Path(str(cfg.path)).expanduser().is_file()  # unreadable: the error line alone says so
        if copies:
            print(f"Left out {len(copies)} image(s) under save_dir={cfg.save_dir} (where the annotated copies go)")
        if not paths:
            exit_with_error(f"no images ({IMAGE_KINDS}) under {cfg.path}{not_listed}")
        read = done = 0
        with stop_requests() as stop:
            for path in paths:
                if stop:
                    break
                image, reason = read_bgr_or_reason(path)
                name = str(path.relative_to(root))
                read += report_photo(options, pipeline, log, name, image, reason=reason, quiet=single_file)
                done += 1
        if stop:  # Ctrl-C: the photos done keep their lines, rows and copies
            if log is not None:
                log.close()
            kept = f"; {cfg.log} holds their rows" if log is not None else ""
            print(f"Stopped after {done} of {len(paths)} images{kept}", file=sys.stderr)
            sys.exit(130)
        if read == 0:  # nothing was classified: a script must not take that run for a success
            if log is not None:
                log.close()
            if single_file:
                exit_with_error(unreadable_file_error(cfg.path, reason))
            exit_with_error(f"none of the {len(paths)} images under {cfg.path} could be read{not_listed}")
    if log is not None:
        log.close()


@contextmanager
def stop_requests() -> Iterator[list[bool]]:
    """A list that Ctrl-C appends to while the block runs: a folder stops after the photo being read, its line, row
    and copy written, instead of a traceback part way through it. A second Ctrl-C interrupts at once. Outside the
    main thread (no signals there) or where Ctrl-C is ignored (`nohup`) the list stays empty."""
    requested: list[bool] = []
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield requested
        return
    if previous is None:  # a handler set outside Python: give it back as Python's own
        previous = signal.default_int_handler

    def request_stop(signum: int, frame: object) -> None:
        requested.append(True)
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, request_stop)
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class PhotoOptions:
    """What to do with each photo besides printing its faces."""

    whole_image_if_no_face: bool
    save_dir: Path | None


def photo_root(path: object) -> Path:
    """The folder photo names are given relative to: `path` itself, or a single file's folder."""
    given = path_option(path)
    return given if given.is_dir() else given.parent


def check_copies_keep_photos(cfg: DictConfig, paths: list[Path]) -> None:
    """ValueError when an annotated copy under `save_dir` would be written over the photo it annotates."""
    save_dir = path_option(cfg.save_dir)
    if save_dir is None or not paths:
        return
    root = photo_root(cfg.path)
    for path in paths:
        if annotated_copy_path(save_dir / path.relative_to(root)).resolve() == path.resolve():
            raise ValueError(
                f"save_dir={cfg.save_dir} would write the annotated copies over the photos: choose another folder"
            )


def leave_out_copies(cfg: DictConfig, paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The photos without the files under `save_dir` where it is a folder inside the photo folder (`path=photos
    save_dir=photos/annotated`: run again, the annotated copies would be taken for photos, and copies of copies
    written); and the files left out."""
    save_dir = path_option(cfg.save_dir)
    if save_dir is None or not paths:
        return paths, []
    root, target = photo_root(cfg.path).resolve(), save_dir.resolve()
    if target == root or not target.is_relative_to(root):
        return paths, []
    copies = {path for path in paths if path.resolve().is_relative_to(target)}
    return [path for path in paths if path not in copies], sorted(copies)


def report_photo(
    options: PhotoOptions,
    pipeline: PhotoPipeline,
    log: PredictionLog | None,
    name: str,
    image: np.ndarray | None,
    copy_name: str | None = None,
    reason: str = "",
    quiet: bool = False,
) -> bool:
    """One photo: a line per face (or `unreadable image`, with the `reason` where there is one, unless `quiet`: a
    single file the run fails on, which `unreadable_file_error` describes), its log rows, its annotated copy under
    `copy_name` (default: `name`). Whether the photo could be read."""
    if image is None:
        if not quiet:
            print(f"{name} : unreadable image" + (f" ({reason})" if reason else ""))
        if log is not None:
            log.write_faces(name, [])
        return False
    faces = pipeline.process(image, whole_image_if_no_face=options.whole_image_if_no_face)
    for line in describe_faces(name, faces):
        print(line)
    if log is not None:
        log.write_faces(name, faces)
    if options.save_dir is not None:
        target = annotated_copy_path(options.save_dir / (copy_name or name))
        try:
            write_image(target, draw_faces(image, faces, pipeline.predictor.class_names))
        except OSError as error:
            print(f"{name} : annotated copy not written ({error})", file=sys.stderr)
    return True


def unreadable_file_error(path: object, reason: str) -> str:
    """The one error line for `path=FILE` that could not be read: the file and why (`reason`, from
    `read_bgr_or_reason`: `Permission denied`; "" for a file opened but not decoded)."""
    if reason:
        return f"{path} could not be read: {reason}"
    return f"{path} is not an image OpenCV can decode ({IMAGE_KINDS})"


def url_file_name(url: str) -> str:
    """The file name an annotated copy of a downloaded photo gets: the URL's last path part (`.png` appended where
    that is not an image file name, as for `show.php`), else `photo.png`."""
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name or "photo"
    return name if Path(name).suffix.lower() in IMAGE_SUFFIXES else f"{name}.png"
