"""`python scripts/write_architecture.py [model_path=...] [notes=FILE]`: a model file's architecture text."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import OptionError, exit_with_error
from facial_emotion.core.user_paths import expand_home
from facial_emotion.export.exporter import architecture_text
from facial_emotion.models.loading import load_model_file, model_path_option


def notes_file(
    model_path: Path, notes: str | int | None, shipped_dir: Path, shipped_notes: Mapping[str, str]
) -> Path | None:
    """The iterations page to append: `notes` itself, or for `auto` the page of a shipped file (a file of that
    name in `shipped_dir`); another model file has no page of its own, so none."""
    if notes != "auto":
        return Path(str(notes)) if notes else None  # notes=5 arrives as a number
    shipped = shipped_notes.get(model_path.name)
    is_shipped = shipped is not None and model_path.resolve().parent == shipped_dir.resolve()
    return shipped_dir / shipped if is_shipped else None


def run(cfg: DictConfig) -> None:
    """Write `<model stem>_architecture.txt` beside the model file."""
    expand_home(cfg)
    try:
        model_path = model_path_option(cfg.model_path)
        notes = notes_file(model_path, cfg.notes, Path(cfg.shipped_dir), cfg.shipped_notes)
        model = load_model_file(model_path)
    except (ModelFileError, OptionError) as error:
        exit_with_error(str(error))
    try:
        notes_text = notes.read_text() if notes else ""
    except OSError as error:
        exit_with_error(f"notes={notes}: cannot be read ({error.strerror or type(error).__name__})")
    output = model_path.with_name(model_path.stem + "_architecture.txt")
    try:
        output.write_text(architecture_text(model, notes_text))
    except OSError as error:  # beside a model file in a read-only folder: one line, not a traceback
        exit_with_error(f"cannot write {output} ({error.strerror or type(error).__name__})")
    print(f"Wrote {output}" + (f" (notes: {notes})" if notes else ""))
