"""`python scripts/write_architecture.py [model_path=...] [notes=FILE]`: a model file's architecture text."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.user_paths import expand_home
from facial_emotion.export.exporter import architecture_text
from facial_emotion.models.loading import load_model_file


def run(cfg: DictConfig) -> None:
    """Write `<model stem>_architecture.txt` beside the model file."""
    expand_home(cfg)
    model_path = Path(cfg.model_path)
    try:
        model = load_model_file(model_path)
        notes = Path(cfg.notes).read_text() if cfg.notes else ""
    except (ModelFileError, OSError) as error:
        sys.exit(f"error: {error}")
    output = model_path.with_name(model_path.stem + "_architecture.txt")
    output.write_text(architecture_text(model, notes))
    print(f"Wrote {output}")
