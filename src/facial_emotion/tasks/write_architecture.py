"""`python scripts/write_architecture.py [model_path=...] [notes=FILE]`: a model file's architecture text."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import exit_with_error
from facial_emotion.core.user_paths import expand_home
from facial_emotion.export.exporter import architecture_text
from facial_emotion.models.loading import load_model_file


def notes_file(model_path: Path, notes: str | None, shipped_dir: Path, shipped_notes: Mapping[str, str]) -> Path | None:
    """The iterations page to append: `notes` itself, or for `auto` the page of a shipped file (a file of that
    name in `shipped_dir`); another model file has no page of its own, so none."""
    if notes != "auto":
        return Path(notes) if notes else None
    shipped = shipped_notes.get(model_path.name)
    is_shipped = shipped is not None and model_path.resolve().parent == shipped_dir.resolve()
    return shipped_dir / shipped if is_shipped else None


def run(cfg: DictConfig) -> None:
    """Write `<model stem>_architecture.txt` beside the model file."""
    expand_home(cfg)
    model_path = Path(cfg.model_path)
    notes = notes_file(model_path, cfg.notes, Path(cfg.shipped_dir), cfg.shipped_notes)
    try:
        model = load_model_file(model_path)
    except ModelFileError as error:
        exit_with_error(str(error))
    try:
        notes_text = notes.read_text() if notes else ""
    except OSError as error:
        exit_with_error(f"notes={notes}: cannot be read ({error.strerror or type(error).__name__})")
    output = model_path.with_name(model_path.stem + "_architecture.txt")
    output.write_text(architecture_text(model, notes_text))
    print(f"Wrote {output}" + (f" (notes: {notes})" if notes else ""))
