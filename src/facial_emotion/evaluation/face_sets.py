"""A labelled folder of face photos: `<Label>/<image>` with FER2013's class names as folder names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facial_emotion.core.labels import EMOTIONS
from facial_emotion.video.image_files import IMAGE_KINDS, special_file_kind, split_files


class FaceSetError(ValueError):
    """The folder is missing or holds no class folders."""


@dataclass
class FaceSet:
    """The images of a labelled folder with their class index, the folders that were not classes, and the folders in
    the class folders that could not be listed (with the reason), whose photos are not counted."""

    root: Path
    images: list[tuple[Path, int]]
    skipped_folders: list[str] = field(default_factory=list)
    skipped_files: list[Path] = field(default_factory=list)  # in the class folders, not images
    unlistable_folders: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.root.name

    def classes_present(self) -> list[int]:
        return sorted({label for _, label in self.images})


def find_face_set(root: str | Path) -> FaceSet:
    """Images (recursively) under each folder named as a FER2013 class, in any case (`happy/`, as FER2013's image
    folders on Kaggle have them); other folders are skipped."""
    root = Path(str(root)).expanduser()  # str: Hydra reads `path=2024` as a number
    if root.is_file():
        raise FaceSetError(f"{root} is a file: give the folder that holds the class folders (Angry/, Happy/, ...)")
    if (kind := special_file_kind(root)) is not None:
        raise FaceSetError(f"{root} is not a regular file or folder: it is {kind}")
    if not root.is_dir():
        raise FaceSetError(f"no such folder: {root}")
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir())
    except OSError as error:
        raise FaceSetError(f"cannot list the folder {root} ({error.strerror or error})") from None
    images, skipped, others, unlistable = [], [], [], []
    classes = {name.lower(): index for index, name in enumerate(EMOTIONS)}
    for folder in folders:
        if folder.name.lower() not in classes:
            skipped.append(folder.name)
            continue
        label = classes[folder.name.lower()]
        found, not_images, not_listed = split_files(folder)
        images += [(path, label) for path in found]
        others += not_images
        unlistable += not_listed
    if len(skipped) == len(folders):
        raise FaceSetError(f"{root} has no class folders (expected some of {', '.join(EMOTIONS)})")
    if not images:
        not_listed = f"; {len(unlistable)} folder(s) in them could not be listed" if unlistable else ""
        raise FaceSetError(f"{root}: the class folders hold no images ({IMAGE_KINDS}){not_listed}")
    return FaceSet(root, images, skipped, others, unlistable)
