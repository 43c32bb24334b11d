"""Where the project's files are (a checkout, or what an installed wheel ships), and the FER2013 CSV files."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# A wheel (`pip install .` or `pip install git+<repository>`) ships `configs/` and the scratch model files under
# the package, laid out as in the checkout: `<bundle>/configs/`, `<bundle>/results/model/*.pkl`.
BUNDLE_DIR = PACKAGE_DIR / "bundled"


def find_project_root(package_dir: Path = PACKAGE_DIR) -> Path:
    """The checkout the package runs from (`src/facial_emotion` beside `configs/`), else the wheel's bundle."""
    checkout = package_dir.parents[1]
    if (checkout / "configs").is_dir() and (checkout / "src" / package_dir.name).is_dir():
        return checkout
    return package_dir / BUNDLE_DIR.name


PROJECT_ROOT = find_project_root()
INSTALLED = PROJECT_ROOT == BUNDLE_DIR  # True when running from an installed wheel, not a checkout
SHARED_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "fer2013"


def work_root() -> Path:
    """Where `data/` and `outputs/` are looked for: the checkout, or the working directory for an installed package."""
    return Path.cwd() if INSTALLED else PROJECT_ROOT


def resolve_model_path(path: str | Path) -> Path:
    """`path`, or the shipped model file of that name (`my_own_model.pkl`, `my_own_model_real_faces.pkl`) when
    `path` is a bare file name that is not in the working directory."""
    path = Path(path).expanduser()
    shipped = PROJECT_ROOT / "results" / "model" / path.name
    if path.parent == Path() and not path.exists() and shipped.is_file():
        return shipped
    return path


def user_cache_dir(kind: str) -> Path:
    """`$XDG_CACHE_HOME/facial_emotion/<kind>` (default `~/.cache`): caches of an installed package."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "facial_emotion" / kind


HOW_TO_GET_DATA = (
    "download the course zip or Kaggle's 'challenges-in-representation-learning-facial-expression-"
    "recognition-challenge' and put train.csv and test_with_emotions.csv (or .csv.gz) in data/, "
    "or set FER_DATA_DIR / paths.data_dir"
)


def default_data_dir() -> Path:
    """`$FER_DATA_DIR`, else `data/` in `work_root()` when it holds the CSVs, else `../shared/data/fer2013`."""
    if os.environ.get("FER_DATA_DIR"):
        return Path(os.environ["FER_DATA_DIR"]).expanduser()
    local = work_root() / "data"
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
        env = os.environ.get("FER_DATA_DIR")
        if (
            env and Path(env).expanduser() == data_dir
        ):  # set long ago in a shell profile: say where the folder came from
            where += " (the folder $FER_DATA_DIR names)"
        raise FileNotFoundError(f"FER data not found: {data_dir.resolve()} {where}; {HOW_TO_GET_DATA}")
    return found
