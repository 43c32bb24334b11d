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
    earlier = earlier_runs(cfg.earlier_run_dirs)
    named = [*((f"earlier_run_dirs: {run}", run) for run in earlier), (f"run_dir={cfg.run_dir}", str(cfg.run_dir))]
    for label, folder in named:  # before check_output, which made a missing run_dir for its default output
        if (problem := folder_problem(Path(folder))) is not None:
            exit_with_error(f"{label}: {problem}")
    check_output(cfg)
    stages = []
    for run_dir in [*earlier, cfg.run_dir]:
        tensorboard = Path(str(run_dir)) / "tensorboard"  # run_dir=5 arrives as a number
        stages.append(read_epoch_scalars(tensorboard))
        if not stages[-1]:
            exit_with_error(f"no TensorBoard scalars under {tensorboard}")
    scalars, stage_starts = concatenate_stages(stages)
    run_dir = Path(str(cfg.run_dir))
    model_path = own_model_file(run_dir, Path(str(cfg.model_path)))
    best = ""
    if model_path.is_file():
        try:
            training = load_model_file(model_path).training
        except ModelFileError as error:
            exit_with_error(str(error))
        logged = max(len(points) for points in stages[-1].values())
        if (mismatch := another_runs_file(model_path, training, run_dir, logged)) is not None:
            message, refused = mismatch
            if refused:
                exit_with_error(message)
            print(f"warning: {message}", file=sys.stderr)
        best = str(training.get("best_checkpoint") or "")
    else:
        print(f"note: no model file at {model_path}: the kept epoch is not marked", file=sys.stderr)
    match = KEPT_EPOCH.search(best)
    best_epoch = int(match.group(1)) + (stage_starts[-1] if stage_starts else 0) if match else None
    plot_learning_curves(scalars, best_epoch, Path(cfg.output), stage_starts, cfg.note)
    print(f"Wrote {cfg.output}")


# The kept checkpoint's name (callbacks/default.yaml: epoch_{epoch:03d}): the epoch counted from 0 in its run.
KEPT_EPOCH = re.compile(r"epoch_(\d+)")


def another_runs_file(
    model_path: Path, training: dict[str, Any], run_dir: Path, logged: int
) -> tuple[str, bool] | None:
    """(why, refused) when the model file `model_path` (its `training` record) may be another run's than `run_dir`,
    which logged `logged` epochs; None when nothing says so. A file records the run folder it was exported from (its
    kept checkpoint's, `<run>/checkpoints/epoch_NNN.ckpt`) and how many epochs that run trained. The same folder is
    the same run. Elsewhere, a moved or copied run keeps its folder's name and its epoch count; it is refused when
    the epoch it kept lies past run_dir's curves (a file inside run_dir is its own: a warning), or both its folder's
    name and its epoch count differ (the marked epoch would be another run's: it was marked without a word), and a
    warning when one of them does."""
    best = Path(str(training.get("best_checkpoint") or ""))
    recorded = best.parent.parent if best.parent.name == "checkpoints" else None
    if recorded is not None and recorded.resolve() == run_dir.resolve():
        return None
    epochs = training.get("epochs_completed")
    epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None
    match = KEPT_EPOCH.search(best.name)
    kept = int(match.group(1)) if match else None
    inside = run_dir.resolve() in model_path.resolve().parents  # the run's own file, in a renamed folder
    renamed = recorded is not None and recorded.name != run_dir.resolve().name and not inside
    recounted = epochs is not None and epochs != logged
    beyond = kept is not None and kept >= logged
    if not (renamed or recounted or beyond):
        return None
    facts = [f"{epochs} epochs trained"] if epochs is not None else []
    facts += [f"epoch {kept} kept"] if kept is not None else []
    origin = f"exported by the run in {recorded}" if recorded is not None else "its run unrecorded"
    said = f"model_path={model_path} is {origin} ({', '.join(facts) or 'no epochs recorded'}); run_dir={run_dir}"
    said += f" logged {logged} epoch{'s' if logged != 1 else ''}"
    if (beyond and not inside) or (renamed and recounted):
        return f"{said}: another run's model file: leave model_path out for run_dir's own", True
    return f"{said}: it may be another run's; the epoch marked is the one its own run kept", False


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


def folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be a run folder (it does not exist, it is a file); None when it is a folder."""
    if folder.is_dir():
        return None
    return "it is a file, not a run folder" if folder.exists() else "no such folder"


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
