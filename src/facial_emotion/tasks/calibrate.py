"""What scripts/calibrate.py does: refit a model file's temperatures on the validation split; one-line errors.

It also prints each test-time augmentation's validation accuracy, and `tta=<mode>` makes that mode the
file's default: the choice of views is made on validation, like every other choice; `live_view=<mode>` records
the view the live stream runs (`tta=live`), chosen on validation and the real-face dev sets. So is the early exit
(`core.early_exit`): `early_exit=auto` records the cheapest policy that keeps the file's predictions on >= 99.5%
of validation faces, `none` clears it, `file` keeps the recorded one, `mode@confidence,...` sets one.
`refit_temperatures=false` keeps the recorded temperatures. A validation split under `min_faces` (a wrong or
tiny data dir) is refused before the file is touched.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from facial_emotion.core.calibration import bound_warnings
from facial_emotion.core.early_exit import Stage, format_early_exit, parse_early_exit, with_early_exit
from facial_emotion.core.model_file import ModelFile, ModelFileError, save_model_file
from facial_emotion.core.options import OptionError, flag, number, open_fraction
from facial_emotion.core.preprocessing import ALL_VIEWS, TTA_MODES
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.datamodule import FERDataModule
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.export.exporter import FITTING_BACKEND
from facial_emotion.export.temperatures import (
    calibration_errors,
    fit_temperatures,
    record_early_exit,
    uncalibrated_view_logits,
    view_accuracies,
)
from facial_emotion.inference.backends import BACKENDS
from facial_emotion.models.loading import load_model_file, model_path_option

_POLICY_KEYWORDS = ("auto", "file")
# Fewer validation faces than this are refused (FER2013's split has 2871): temperatures, and the early exit's 99.5%
# agreement (5 faces in 1000), fitted on fewer follow chance. `min_faces=0` fits on any number (tests, experiments).
MIN_FACES = 1000


def early_exit_option(spec: str | None) -> str | tuple[Stage, ...]:
    """The `early_exit` option read before any work: "auto", "file", or the stages it sets (none: empty);
    ValueError naming the option when it is none of these."""
    keyword = str(spec).strip().lower()
    if keyword in _POLICY_KEYWORDS:
        return keyword
    try:
        return parse_early_exit(spec)
    except ValueError as error:
        raise ValueError(f"{error}; or early_exit=auto, file or none") from None


def record_policy(
    policy: str | tuple[Stage, ...], every_view: torch.Tensor, labels: np.ndarray, model: ModelFile
) -> None:
    """Record the early exit `early_exit_option` read in `model`: chosen on the validation views (`auto`,
    printed), kept (`file`), or the stages given (none: cleared; they then report at their modes' temperatures)."""
    if isinstance(policy, tuple):
        model.preprocessing = with_early_exit(model.preprocessing, policy)
        return
    if policy == "file":
        return
    choice = record_early_exit(model, every_view, labels)
    temperatures = ", ".join(f"{t:.3f}" for t in choice.exit_temperatures)
    print(
        f"Early exit: {format_early_exit(choice.stages)}: {choice.views_per_face:.2f} views per face, the same "
        f"prediction as {model.preprocessing.tta} on {100 * choice.agreement:.2f}% of faces, accuracy "
        f"{100 * choice.accuracy:.2f}% vs {100 * choice.full_accuracy:.2f}%; temperatures of the faces stopping at "
        f"each stage: {temperatures or '-'}"
    )


def too_few_faces(datamodule: FERDataModule, min_faces: int, path: Path) -> str | None:
    """Why `datamodule`'s validation split (set up) is too small to calibrate the file at `path` on, naming the data
    and the count; None when it has at least `min_faces` faces."""
    count = len(datamodule.val_set)
    if count >= min_faces:
        return None
    split = f"data.val_fraction={datamodule.hparams.val_fraction:g} of {datamodule.hparams.train_file}"
    return (
        f"{datamodule.data_dir}: {count} validation faces ({split}), fewer than min_faces={min_faces}: temperatures "
        f"fitted on so few follow chance; {path} is unchanged (min_faces=0 fits them anyway)"
    )


def run(cfg: DictConfig) -> int:
    """Fit, report and record the temperatures of `cfg.model_path`; return the process exit code."""
    expand_home(cfg)
    default_tta, live_view = cfg.get("tta"), cfg.get("live_view")
    for key, mode in (("tta", default_tta), ("live_view", live_view)):
        if mode is not None and mode not in TTA_MODES:
            print(f"error: {key} must be one of {', '.join(TTA_MODES)}, got {mode!r}", file=sys.stderr)
            return 2
    try:
        path = model_path_option(cfg.model_path)  # model_path=5 was a TypeError traceback
        backend = cfg.get("backend", FITTING_BACKEND)
        if backend not in BACKENDS:  # was a traceback, after the validation split had been read
            raise OptionError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        policy = early_exit_option(cfg.get("early_exit", "auto"))
        refit = flag(cfg, "refit_temperatures") if "refit_temperatures" in cfg else True
        if (fraction := open_fraction(cfg, "data.val_fraction")) is not None:
            cfg.data.val_fraction = fraction
        min_faces = number(cfg, "min_faces", minimum=0, integer=True) if "min_faces" in cfg else MIN_FACES
    except ValueError as error:  # OptionError is one
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        model = load_model_file(path)
        datamodule = instantiate(cfg.data)
        datamodule.setup("fit")
        images, labels = datamodule.val_set.images.squeeze(1).numpy(), datamodule.val_set.labels.numpy()
        if (refusal := too_few_faces(datamodule, min_faces or 0, path)) is not None:  # before the validation pass
            print(f"error: {refusal}", file=sys.stderr)
            return 2
        view_logits = uncalibrated_view_logits(path, images, backend, progress="validation faces (20 views each)")
    except (ModelFileError, FERDataError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the file is written once, at the end: it is as it was
        print(f"Stopped before the temperatures were written: {path} is unchanged", file=sys.stderr)
        return 130
    recorded = {tta: model.temperature_for(tta) for tta in view_logits}
    before = calibration_errors(view_logits, labels, recorded)
    if refit:
        model.temperatures = fit_temperatures(view_logits, labels)
    after = calibration_errors(view_logits, labels, model.temperatures)
    accuracies = view_accuracies(view_logits, labels, model.temperatures)
    if default_tta is not None:
        model.preprocessing = dataclasses.replace(model.preprocessing, tta=default_tta)
    if live_view is not None:
        model.preprocessing = dataclasses.replace(model.preprocessing, live_view=live_view)
    model.temperature = model.temperatures[model.preprocessing.tta]
    prep = model.preprocessing
    print(f"Validation split: {len(labels)} faces. Accuracy and ECE (15 bins) per test-time augmentation:")
    for tta in view_logits:
        roles = [
            name for name, mode in (("the file's default", prep.tta), ("the live view", prep.live_view)) if mode == tta
        ]
        default = f"  ({', '.join(roles)})" if roles else ""
        temperatures = f"T {recorded[tta]:.3f} -> {model.temperatures[tta]:.3f}"
        errors = f"ECE {100 * before[tta]:.2f}% -> {100 * after[tta]:.2f}%"
        print(f"  {tta:<20} accuracy {100 * accuracies[tta]:.2f}%   {temperatures}   {errors}{default}")
    if refit:
        sys.stdout.flush()  # the warning follows the table it is about
        for warning in bound_warnings(model.temperatures):
            print(warning, file=sys.stderr)
    record_policy(policy, view_logits[ALL_VIEWS], labels, model)
    save_model_file(path, model)
    print(f"Wrote the temperatures into {path}")
    return 0
