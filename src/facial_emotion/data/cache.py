"""Cache parsed FER arrays as uncompressed `.npz`, keyed by the CSV's path, size and mtime."""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from facial_emotion.core.whole_files import write_whole
from facial_emotion.data.fer_csv import FERArrays, parse_fer_csv
from facial_emotion.data.locate import INSTALLED, PROJECT_ROOT, user_cache_dir

log = logging.getLogger(__name__)

CACHE_FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    """`$FER_CACHE_DIR`, else `.cache/fer2013` in the project (the user cache dir for an installed package)."""
    default = user_cache_dir("fer2013") if INSTALLED else PROJECT_ROOT / ".cache" / "fer2013"
    return Path(os.environ.get("FER_CACHE_DIR", default))


def cache_path_for(csv_path: Path, cache_dir: Path, skip_bad_rows: bool) -> Path:
    """The cache file for `csv_path`; any change of the CSV (size or mtime) gives a new name."""
    stat = csv_path.stat()
    key = f"{csv_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{skip_bad_rows}|v{CACHE_FORMAT_VERSION}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    stem = csv_path.name.split(".")[0]
    return Path(cache_dir) / f"{stem}-{digest}.npz"


def load_fer_csv(csv_path: Path, cache_dir: Path | None = None, skip_bad_rows: bool = False) -> FERArrays:
    """Parse `csv_path`, or load its cached arrays when the CSV has not changed since they were written."""
    csv_path = Path(csv_path)
    cache_file = cache_path_for(csv_path, Path(cache_dir or default_cache_dir()), skip_bad_rows)
    if cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as cached:
                usage = cached["usage"] if "usage" in cached.files else None
                skipped = tuple(cached["skipped_lines"].tolist())
                problems = tuple(cached["skipped_problems"].tolist()) if "skipped_problems" in cached.files else ()
                if len(problems) == len(skipped):  # else written before the problems were kept: parse again
                    return FERArrays(cached["images"], cached["labels"], usage, skipped, problems)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):  # a half-written or damaged cache
            log.warning("cache %s is damaged: parsing %s again", cache_file, csv_path)
    arrays = parse_fer_csv(csv_path, skip_bad_rows=skip_bad_rows)
    _write_cache(cache_file, arrays)
    return arrays


def _write_cache(cache_file: Path, arrays: FERArrays) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "images": arrays.images,
            "labels": arrays.labels,
            "skipped_lines": np.asarray(arrays.skipped_lines, dtype=np.int64),
            "skipped_problems": np.asarray(arrays.skipped_problems, dtype=str),
        }
        if arrays.usage is not None:
            payload["usage"] = arrays.usage
        # atomic: a reader never sees a half-written cache, a failed write leaves no partial file
        write_whole(cache_file, lambda tmp: np.savez(tmp, **payload))
    except OSError as error:
        log.warning("could not write the parse cache %s (%s); parsing again next time", cache_file, error)
