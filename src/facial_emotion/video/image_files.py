"""Find photos under a file or folder, read them, and write annotated copies of them."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

# What OpenCV decodes (by content; the suffix only picks the files): .jfif is a browser's name for a JPEG; Netpbm
# (.pgm, .ppm) is how older face datasets ship; a GIF is read as its first frame.
IMAGE_SUFFIXES = (
    *(".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp"),
    *(".pgm", ".ppm", ".pnm", ".gif", ".jp2", ".avif"),
)
IMAGE_KINDS = "jpg png bmp tiff webp pgm ppm gif jp2 avif"
# Kinds OpenCV cannot write a colour image as (.pgm is grey only; .jfif is not a name its encoders know).
_GREY_OR_UNWRITABLE = (".pgm", ".jfif")


class PhotoFiles(NamedTuple):
    """What a photo path holds: its images (sorted), its other files (not read) and the folders under it that could
    not be listed, each with the reason (`Permission denied`): their photos are not read, and are reported."""

    images: list[Path]
    others: list[Path]
    unlistable: list[tuple[Path, str]]


def split_files(folder: Path) -> PhotoFiles:
    """The images under `folder` (recursive, sorted), the other entries there that are not hidden (.DS_Store; named
    pipes, sockets and devices included, whatever their names), and the folders under it that could not be listed
    (`folder` itself included).

    Links to folders are followed (each folder once, so a link to a folder above ends no search); a link whose target
    is gone counts as a file, so that a photo that cannot be read is reported, not dropped."""
    unlistable: list[tuple[Path, str]] = []

    def note_unlistable(error: OSError) -> None:
        unlistable.append((Path(error.filename), error.strerror or str(error)))

    entries = sorted(p for p in walk_files(folder, onerror=note_unlistable) if not p.name.startswith("."))
    # A named pipe, socket or device is never read (reading a pipe waits for a writer): listed with the other files.
    images = [p for p in entries if _file_or_broken_link(p) and p.suffix.lower() in IMAGE_SUFFIXES]
    others = sorted(set(entries) - set(images))
    return PhotoFiles(images, others, sorted(unlistable))


def walk_files(folder: Path, onerror: Callable[[OSError], None] | None = None) -> Iterator[Path]:
    """Every entry under `folder` that is not a folder (links, broken ones too, and special files included), through
    links to folders, each real folder once. A folder that cannot be listed is passed to `onerror` as the OSError
    naming it (`filename`), as `os.walk` does; without `onerror` it is skipped."""
    seen: set[str] = set()
    for root, folders, names in os.walk(folder, onerror=onerror, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            folders.clear()
            continue
        seen.add(real)
        yield from (Path(root) / name for name in names)


def _file_or_broken_link(path: Path) -> bool:
    return path.is_file() or (path.is_symlink() and not path.exists())


def special_file_kind(path: Path) -> str | None:
    """What `path` is when it exists but is neither a regular file nor a folder (`a named pipe (FIFO)`, `a socket`,
    `a character device`, ...); None for a file, a folder or a path that does not exist."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kinds = (
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((kind for is_kind, kind in kinds if is_kind(mode)), "a special file")


def find_images(path: str | Path) -> PhotoFiles:
    """`path` itself if it is a file, else every image under the folder (recursive, sorted); the folder's other
    files, which are not read, and its sub-folders that could not be listed (none for a single file).

    Raises FileNotFoundError when `path` does not exist, OSError naming it when it is neither a regular file nor a
    folder (a named pipe, a device) or is a folder that cannot be listed.
    """
    path = Path(str(path)).expanduser()  # str: Hydra reads `path=2024` as a number
    if path.is_file():
        return PhotoFiles([path], [], [])
    if (kind := special_file_kind(path)) is not None:
        raise OSError(f"{path} is not a regular file or folder: it is {kind}")
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    found = split_files(path)
    if (reason := dict(found.unlistable).get(path)) is not None:
        raise OSError(f"cannot list the folder {path} ({reason})")
    return found


def describe_unlistable(folders: list[tuple[Path, str]], root: Path) -> list[str]:
    """A line per folder that could not be listed, as an unreadable photo's: `sub/private/ : unreadable folder
    (Permission denied)`, named relative to `root`."""
    return [f"{folder.relative_to(root)}/ : unreadable folder ({reason})" for folder, reason in folders]


def describe_skipped(files: list[Path], root: Path, shown: int = 5) -> str:
    """One line naming the files that were not read as images (the first `shown` of them)."""
    names = ", ".join(str(p.relative_to(root)) for p in files[:shown])
    more = f" and {len(files) - shown} more" if len(files) > shown else ""
    return f"Skipped {len(files)} file(s) that are not images ({IMAGE_KINDS}): {names}{more}"


def read_bgr(path: Path) -> np.ndarray | None:
    """The image as a BGR uint8 array, or None when it cannot be decoded."""
    data = np.fromfile(str(path), dtype=np.uint8) if path.stat().st_size else np.zeros(0, np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


def read_bgr_or_reason(path: Path) -> tuple[np.ndarray | None, str]:
    """`read_bgr(path)`, or None and why the file could not be read (`Permission denied`, `No such file or
    directory` for a link whose target is gone); the reason is "" for a file read but not decoded."""
    try:
        return read_bgr(path), ""
    except OSError as error:
        return None, error.strerror or str(error)


def annotated_copy_path(path: Path) -> Path:
    """Where a colour copy of the photo `path` is written: the same name, or with `.png` appended where the photo's
    kind cannot hold colour (`face.pgm` -> `face.pgm.png`), so two photos never share a copy."""
    return path.with_name(path.name + ".png") if path.suffix.lower() in _GREY_OR_UNWRITABLE else path


def write_image(path: Path, image: np.ndarray) -> None:
    """Write a BGR image, its format chosen by the suffix of `path` (any path, non-ASCII included).

    Raises OSError naming the file when it cannot be encoded or written.
    """
    try:
        encoded, data = cv2.imencode(path.suffix, image)
    except cv2.error:
        encoded = False
    if not encoded:
        raise OSError(f"{path}: OpenCV cannot write a {path.suffix or 'suffix-less'} image")
    path.parent.mkdir(parents=True, exist_ok=True)
    data.tofile(str(path))
