"""`python scripts/plot_learning_curves.py run_dir=outputs/train/runs/<run>`: a run's learning curves as a PNG.

A run that continued earlier ones (init_from) is drawn after them: `'earlier_run_dirs=[<stage 1 run>]'`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from matplotlib.backend_bases import FigureCanvasBase
from omegaconf import DictConfig, OmegaConf

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import exit_with_error, prepare_output_file, require_options
from facial_emotion.core.user_paths import expand_home
from facial_emotion.evaluation.plots import plot_learning_curves
from facial_emotion.models.loading import DEFAULT_EXPORT_NAME, export_file_name, load_model_file, run_model_file
from facial_emotion.training.tensorboard_scalars import concatenate_stages, read_epoch_scalars


def run(cfg: DictConfig) -> None:
    """Read the runs' TensorBoard scalars, mark the chosen epoch, write `cfg.output`."""
    expand_home(cfg)
    require_options(cfg, run_dir="a training run's folder")
    if OmegaConf.is_list(cfg.run_dir) or OmegaConf.is_dict(cfg.run_dir):  # was a TypeError traceback
        shown = OmegaConf.to_container(cfg.run_dir)
        exit_with_error(f"run_dir takes one run folder, got {shown!r}; the runs it continued: 'earlier_run_dirs=[...]'")
    check_output(cfg)
    stages = []
    for run_dir in [*earlier_runs(cfg.earlier_run_dirs), cfg.run_dir]:
        tensorboard = Path(str(run_dir)) / "tensorboard"  # run_dir=5 arrives as a number
        stages.append(read_epoch_scalars(tensorboard))
        if not stages[-1]:
            exit_with_error(f"no TensorBoard scalars under {tensorboard}")
    scalars, stage_starts = concatenate_stages(stages)
    model_path = own_model_file(Path(str(cfg.run_dir)), Path(str(cfg.model_path)))
    best = ""
    if model_path.is_file():
        try:
            best = load_model_file(model_path).training.get("best_checkpoint", "")
        except ModelFileError as error:
            exit_with_error(str(error))
    else:
        print(f"note: no model file at {model_path}: the kept epoch is not marked", file=sys.stderr)
    match = re.search(r"epoch_(\d+)", best)
    best_epoch = int(match.group(1)) + (stage_starts[-1] if stage_starts else 0) if match else None
    plot_learning_curves(scalars, best_epoch, Path(cfg.output), stage_starts, cfg.note)
    print(f"Wrote {cfg.output}")


def own_model_file(run_dir: Path, model_path: Path) -> Path:
    """`model_path`; for the default (`<run>/model/my_own_model.pkl`) where the run exported under another name (a
    timm run's `pre_trained_model.pkl`), the file it exported, or the name its options give it."""
    default = run_dir / "model" / DEFAULT_EXPORT_NAME
    if model_path.is_file() or model_path.absolute() != default.absolute():
        return model_path
    exported = run_model_file(run_dir)
    if exported is not None:
        return exported
    return run_dir / "model" / (export_file_name(run_dir) or DEFAULT_EXPORT_NAME)


def earlier_runs(value: Any) -> list[str]:
    """`earlier_run_dirs` as a list: one folder given without brackets (`earlier_run_dirs=<run>`) is that folder,
    not its characters, each read as a run folder ("no TensorBoard scalars under /tensorboard")."""
    if value is None or value == "":
        return []
    if OmegaConf.is_list(value) or isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)]


def check_output(cfg: DictConfig) -> None:
    """One line, exit 2, before any work, for an `output` matplotlib cannot write (x.txt was a traceback after the
    curves were read) or whose folder cannot be made."""
    output = Path(str(cfg.output))
    formats = FigureCanvasBase.get_supported_filetypes()
    if output.suffix.lower().lstrip(".") not in formats:
        exit_with_error(f"output={cfg.output}: matplotlib writes {', '.join(sorted(formats))}; give e.g. curves.png")
    try:
        prepare_output_file(output, f"output={cfg.output}")
    except OSError as error:
        exit_with_error(str(error))
