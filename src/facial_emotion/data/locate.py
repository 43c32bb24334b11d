"""Find the FER2013 data directory and its CSV files (`.csv` or `.csv.gz`)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "fer2013"
HOW_TO_GET_DATA = (
    "download the course zip or Kaggle's 'challenges-in-representation-learning-facial-expression-"
    "recognition-challenge' and put train.csv and test_with_emotions.csv (or .csv.gz) in data/, "
    "or set FER_DATA_DIR / paths.data_dir"
)


def default_data_dir() -> Path:
    """`$FER_DATA_DIR`, else `data/` of the project when it holds the CSVs, else `../shared/data/fer2013`."""
    if os.environ.get("FER_DATA_DIR"):
        return Path(os.environ["FER_DATA_DIR"]).expanduser()
    local = PROJECT_ROOT / "data"
    if find_csv(local, "train.csv") is None and SHARED_DATA_DIR.is_dir():
        return SHARED_DATA_DIR
    return local


def find_csv(data_dir: Path, file_name: str) -> Path | None:
    """Return `data_dir/file_name` or its `.gz` twin, whichever exists (plain CSV first)."""
    for candidate in (Path(data_dir) / file_name, Path(data_dir) / f"{file_name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def require_csv(data_dir: Path, file_name: str) -> Path:
    """Like `find_csv`, but raise `FileNotFoundError` saying where it looked and how to get the data."""
    data_dir = Path(data_dir)
    found = find_csv(data_dir, file_name)
    if found is None:
        where = "does not exist" if not data_dir.is_dir() else f"has no {file_name} or {file_name}.gz"
        raise FileNotFoundError(f"FER data not found: {data_dir.resolve()} {where}; {HOW_TO_GET_DATA}")
    return found
