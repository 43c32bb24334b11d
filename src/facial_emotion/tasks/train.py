"""`python scripts/train.py`: build everything from the Hydra config, fit, test the best checkpoint, export."""

from __future__ import annotations

import logging
import math
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.hardware import auto_precision, precision_reason
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import OptionError, flag, open_fraction
from facial_emotion.core.preprocessing import Preprocessing, views_per_image
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.export.exporter import architecture_text, export_model
from facial_emotion.models.loading import load_model_file
from facial_emotion.sweeps.grid_sweeper import JobRefusedError
from facial_emotion.sweeps.tensorboard_hparams import log_final_hparams
from facial_emotion.training.initial_weights import load_initial_weights
from facial_emotion.training.option_checks import check_option_values, trainer_error
from facial_emotion.training.output_folders import OutputWriteError, writable_folder, write_failure
from facial_emotion.training.random_state import RandomState
from facial_emotion.training.resume_schedule import (
    ResumedScheduleCheck,
    ResumeRefusedError,
    run_options_file,
    saved_schedule,
)
from facial_emotion.training.run_completion import RunLength, check_not_complete
from facial_emotion.training.run_info import RunInfo
from facial_emotion.training.run_record import holds_a_run, restore_run_record
from facial_emotion.training.run_summary import REFUSAL_ERRORS, RunSummary, ran_a_fraction

log = logging.getLogger(__name__)

# Top-level keys an experiment may mark required (???), with the one-line error when they are not given.
_REQUIRED_MODEL_FILES = {
    "init_from": "this experiment continues an earlier run: give init_from=<its model file>",
    "teachers": "this experiment distils trained models: give teachers=[<model file>,...]",
}


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the run; the message says how to resume it. Its summary already says
    "interrupted". `exit_status`: 130 for Ctrl-C, 143 for SIGTERM, as a shell reports a process those signals end."""

    def __init__(self, message: str, exit_status: int = 130) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def training_command() -> str:
    """The command line that reproduces this run (script and overrides)."""
    try:
        overrides = HydraConfig.get().overrides.task
    except ValueError:  # composed outside @hydra.main (tests)
        overrides = sys.argv[1:]
    return " ".join(["python", "scripts/train.py", *overrides])


def _instantiate(config: DictConfig, **kwargs: Any) -> Any:
    """`instantiate`, but bad input found while building (e.g. a missing teacher file) raises as itself, and a value
    a constructor refuses (ValueError) as an OptionError naming the config key: Hydra would wrap them in an
    InstantiationException that the scripts cannot tell from a bug."""
    try:
        return instantiate(config, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, (FERDataError, ModelFileError, FileNotFoundError, OptionError)):
            raise cause from None
        if isinstance(cause, ValueError):
            found = re.search(r"full_key: (\S+)", str(error))
            key = found.group(1) if found else str(config.get("_target_"))
            raise OptionError(str(cause) if str(cause).startswith(key) else f"{key}: {cause}") from None
        raise


def _metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit the configured model; return the metrics (for sweeps: `cfg.optimized_metric`).

    `run_summary.json` in the run folder records progress and the outcome (with the error when it raises). Bad input
    found before a step was trained refuses the run: a new folder's summary says "refused"; in an earlier run's folder
    (a resume into it) that run's summary and options are left as they were.
    """
    run_info = RunInfo()
    summary = RunSummary(Path(cfg.paths.output_dir), run_info)
    try:
        return _fit_test_export(cfg, run_info, summary)
    except REFUSAL_ERRORS as error:
        if not summary.is_refusal(error):  # found after training (exporting): the run failed
            summary.write("failed", error=error)
            raise
        summary.refused(error)
        restore_run_record(cfg.paths.output_dir)  # the earlier run's options in .hydra/, its loggers' hparams.yaml
        raise
    except TrainingInterrupted:  # in fit or test: RunSummary.on_exception recorded it
        raise
    except KeyboardInterrupt:  # outside Lightning's loops: reading the data, exporting the model file
        summary.write("interrupted")
        raise _interrupted(cfg) from None
    except OSError as error:  # a FileNotFoundError (a missing input) is bad input, above
        summary.write("failed", error=error)
        # A write that failed (a full disk): checkpoints are written whole, so the last one is the run's to resume.
        raise write_failure(error, Path(cfg.paths.output_dir), _how_to_go_on(cfg)) from None
    except Exception as error:  # bad input (run() says it in one line) or a bug
        summary.write("failed", error=error)
        raise


def _fit_test_export(cfg: DictConfig, run_info: RunInfo, summary: RunSummary) -> dict[str, float]:
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")

    for key, message in _REQUIRED_MODEL_FILES.items():
        if OmegaConf.is_missing(cfg, key):
            raise ModelFileError(message)
    check_options(cfg)
    resume = checked_resume_checkpoint(cfg)
    if cfg.get("export") and cfg.export.get("path"):  # not found unwritable after the whole training
        writable_folder(Path(cfg.export.path).parent, "export.path", cfg.export.path)
    datamodule: L.LightningDataModule = _instantiate(cfg.data)
    if cfg.get("test"):
        datamodule.setup("test")  # a bad test file fails now, not after the training
    module: L.LightningModule = _instantiate(cfg.model)
    if resume is not None:
        check_checkpoint_network(module, resume, cfg.ckpt_path)
        check_not_complete(cfg, resume, cfg.ckpt_path)  # it would test and export again, over its model file
    initial_weights = None
    if cfg.get("init_from"):  # checked and recorded on resume too; the checkpoint's weights then replace these
        initial_weights = load_initial_weights(module.net, cfg.init_from, pruned=bool(cfg.get("init_pruned")))
        log.info("starting from the weights of %s", cfg.init_from)
    callbacks = [instantiate(c) for c in cfg.get("callbacks", {}).values() if c is not None]
    # RandomState: a resume draws the random numbers the run would have; RunLength: it tells a complete run
    callbacks += [RandomState(), RunLength(), run_info, summary]
    if resume is not None and (schedule := saved_schedule(resume)) is not None:
        callbacks.insert(0, ResumedScheduleCheck(cfg.ckpt_path, schedule))  # refuses before the summary says running
    loggers = [instantiate(lg) for lg in cfg.get("logger", {}).values() if lg is not None]
    if not loggers:  # logger=none: Lightning refuses a LearningRateMonitor with nothing to write to (a traceback)
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    try:
        trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    except InstantiationException as error:
        refused = trainer_error(error.__cause__)
        if refused is None:
            raise
        raise refused from None
    log.info(_precision_line(str(trainer.precision), str(cfg.trainer.accelerator)))

    hparams = OmegaConf.to_container(cfg, resolve=True)
    for logger in trainer.loggers:
        logger.log_hyperparams(hparams)

    with _resume_hint_on_interrupt(cfg):
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
    metrics = _metrics(trainer)
    summary.stopped_early = _stopped_early(trainer)

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best:
        # Loaded by hand, not with trainer.test(ckpt_path=...), which would also restore the checkpoint's older
        # RunInfo (wall time, epochs, resumes) into the exported model file.
        module.load_state_dict(torch.load(best, map_location="cpu", weights_only=True)["state_dict"])
    partial_test = ran_a_fraction(cfg.get("trainer", {}), "limit_test_batches")
    if cfg.get("test"):
        summary.partial_test = partial_test  # compare_runs marks such test figures
        if (line := _test_line(cfg, datamodule, module)) is not None:
            log.info(line)
        with _resume_hint_on_interrupt(cfg):
            trainer.test(module, datamodule=datamodule)
        metrics.update(_metrics(trainer))

    log_final_hparams(trainer.loggers, hparams, metrics, trainer.global_step, partial_test=partial_test)
    if cfg.get("export") and cfg.export.get("path") and trainer.is_global_zero:
        try:
            _export(cfg, module, datamodule, metrics, run_info, best, initial_weights, partial_test)
        except KeyboardInterrupt:  # its checkpoints are whole: a resume has no epoch left, it tests and exports
            summary.write("interrupted")
            raise _interrupted(cfg, " while exporting the model file") from None
    summary.write("completed", metrics)
    return metrics


def _test_line(cfg: DictConfig, datamodule: L.LightningDataModule, module: L.LightningModule) -> str | None:
    """What the test costs (faces times views: minutes on a CPU for FER2013's 7178 at 20 views, after a quick run's
    seconds of training) and, when the whole test set is tested, how to skip or shorten it; None when not known."""
    test_set = getattr(datamodule, "test_set", None)
    batch_size = getattr(getattr(datamodule, "hparams", {}), "eval_batch_size", None)
    preprocessing = getattr(module, "preprocessing", None)
    if test_set is None or not batch_size or preprocessing is None:
        return None
    faces, tta = len(test_set), str(preprocessing.tta)
    batches = math.ceil(faces / batch_size)
    views = f"at {views_per_image(tta)} views each (augmentation.eval.tta={tta})"
    trainer_cfg = cfg.get("trainer", {})
    if not ran_a_fraction(trainer_cfg, "limit_test_batches"):
        return (
            f"testing on the {faces} test faces {views}; test=false skips it, "
            f"trainer.limit_test_batches=N tests N of its {batches} batches of {batch_size}"
        )
    fast, limit = trainer_cfg.get("fast_dev_run"), trainer_cfg.get("limit_test_batches")
    if fast:
        tested, option = (1 if fast is True else int(fast)), f"trainer.fast_dev_run={fast}"
    else:  # Lightning's limits: a whole number of batches, or a fraction of them
        tested = int(limit) if isinstance(limit, int) else int(batches * float(limit))
        option = f"trainer.limit_test_batches={limit}"
    tested_faces = min(faces, min(tested, batches) * batch_size)
    return f"testing on {tested_faces} of the {faces} test faces ({option}) {views}"


def _precision_line(precision: str, accelerator: str) -> str:
    """Which precision runs and why; a `trainer.precision` that overrides the CPU's choice says so (the reason for
    the choice was printed beside the other precision, as if the CPU had chosen it)."""
    automatic = auto_precision(accelerator)
    reason = precision_reason(automatic, accelerator)
    if precision == automatic or accelerator in ("gpu", "cuda"):
        return reason if precision == automatic else precision_reason(precision, accelerator)
    why = reason.split(": ", 1)[-1]
    return f"precision {precision}, given by trainer.precision (the CPU's choice is {automatic}: {why})"


def _stopped_early(trainer: L.Trainer) -> int | None:
    """The epochs trained when early stopping ended the run before `max_epochs` (logged: Lightning says nothing);
    None otherwise."""
    stopper = trainer.early_stopping_callback
    if stopper is None or not stopper.stopped_epoch:
        return None
    epochs = stopper.stopped_epoch + 1
    best = stopper.best_score.item() if torch.is_tensor(stopper.best_score) else stopper.best_score
    log.info(
        "early stopping: %s has not improved for %d epochs (callbacks.early_stopping.patience), best %.4f: "
        "stopped after epoch %d of %d",
        stopper.monitor,
        stopper.wait_count,
        best,
        epochs,
        trainer.max_epochs,
    )
    return epochs


def check_options(cfg: DictConfig) -> None:
    """OptionError, in one line naming the option, for an option that would fail only once the data is loaded."""
    cfg.test = flag(cfg, "test")  # `test=no` is text, which would read as yes
    if isinstance(cfg.get("teachers"), str):  # teachers=a.pkl without brackets: one teacher, not one per character
        cfg.teachers = [cfg.teachers]
    check_option_values(cfg)
    if _given("data.soft_labels_weight") and not OmegaConf.select(cfg, "data.soft_labels_file"):
        raise OptionError(
            "data.soft_labels_weight weighs the FER+ votes of data.soft_labels_file, which is not given (it would be "
            "ignored): add data.soft_labels_file=fer2013new.csv"
        )
    fraction = open_fraction(cfg, "data.val_fraction")
    if fraction is not None:
        cfg.data.val_fraction = fraction  # "0.2" given as text reaches the datamodule as a number


def _given(key: str) -> bool:
    """Whether the command line sets `key` (outside scripts/train.py, e.g. composed in tests: never)."""
    try:
        overrides = HydraConfig.get().overrides.task
    except ValueError:
        return False
    return any(o.lstrip("+~").split("=", 1)[0] == key for o in overrides)


def _last_checkpoint(cfg: DictConfig) -> Path:
    """Where this run writes `last.ckpt` (the checkpoint a resume starts from)."""
    folder = OmegaConf.select(cfg, "callbacks.model_checkpoint.dirpath") or Path(cfg.paths.output_dir) / "checkpoints"
    return Path(str(folder)) / "last.ckpt"


@contextmanager
def _resume_hint_on_interrupt(cfg: DictConfig) -> Iterator[None]:
    """Turn Lightning's answer to Ctrl-C (it runs the on_exception hooks, then calls sys.exit(1) inside its
    `except KeyboardInterrupt`) into TrainingInterrupted, whose message says how to resume."""
    try:
        yield
    except SIGTERMException:  # `kill`, a cluster's preemption: Lightning stops after the batch and exits with 0
        raise TrainingInterrupted(f"training was stopped by SIGTERM; {_how_to_go_on(cfg)}", exit_status=143) from None
    except SystemExit as stop:
        if not isinstance(stop.__context__, KeyboardInterrupt):
            raise
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)  # Lightning ignores Ctrl-C from then on
        raise _interrupted(cfg) from None


def _interrupted(cfg: DictConfig, while_doing: str = "") -> TrainingInterrupted:
    """The one line for Ctrl-C: how to resume the run (or rerun its sweep, or start again without a checkpoint)."""
    return TrainingInterrupted(f"training was interrupted{while_doing}; {_how_to_go_on(cfg)}")


def _how_to_go_on(cfg: DictConfig) -> str:
    """How to continue a stopped run: resume it from its last.ckpt, rerun its sweep, or start it again."""
    last = _last_checkpoint(cfg).resolve()
    if (sweeper := _sweeper()) is not None:
        return _sweep_hint(sweeper)
    if last.is_file():
        return f"resume it: its command with ckpt_path={last} hydra.run.dir={Path(cfg.paths.output_dir).resolve()}"
    return "it stopped before its first checkpoint: start it again"


def _sweeper() -> str | None:
    """The sweeper's `_target_` when this run is one job of a multirun sweep (`-m`); None for a single run."""
    try:
        hydra_cfg = HydraConfig.get()
    except ValueError:  # composed outside @hydra.main (tests)
        return None
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    return str(OmegaConf.select(hydra_cfg, "sweeper._target_", default=""))


def _sweep_hint(sweeper: str) -> str:
    """What to do after Ctrl-C in a sweep: its command again (docs/sweeps.md), not one job's resume."""
    if "optuna" in sweeper.lower():
        return "it was a sweep: rerun the same sweep command, which runs only the study's missing trials"
    return (
        "it was a sweep: rerun the same sweep command (a grid sweep runs all its jobs again, into a new "
        "hydra.sweep.dir)"
    )


def checked_resume_checkpoint(cfg: DictConfig) -> dict[str, Any] | None:
    """The checkpoint `ckpt_path` names, read safely (weights_only); None without one. ResumeRefusedError in one line
    for a file that is not a training checkpoint, and for a run folder that already holds a run when none is resumed
    (training there would replace its checkpoints and model file)."""
    path, last = cfg.get("ckpt_path"), _last_checkpoint(cfg)
    if not path:
        if last.is_file():
            raise ResumeRefusedError(
                f"{last.parent.parent} already holds a run: resume it with ckpt_path={last}, or train elsewhere"
            )
        return None
    path = Path(str(path))
    if not path.is_file():
        raise ResumeRefusedError(f"ckpt_path: no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many types for foreign or unsafe files
        reason = "it holds Python objects, never loaded" if "Weights only" in str(error) else type(error).__name__
        raise ResumeRefusedError(f"ckpt_path={path} is not a checkpoint that loads safely ({reason})") from None
    if not isinstance(checkpoint, dict) or "pytorch-lightning_version" not in checkpoint:
        hint = (
            " (a model file: start from it with init_from=)"
            if isinstance(checkpoint, dict) and "format" in checkpoint
            else ""
        )
        raise ResumeRefusedError(f"ckpt_path={path} is not a training checkpoint{hint}")
    resolved = path.resolve()
    own_run = resolved.parent.parent
    if resolved.parent != last.parent.resolve() and holds_a_run(own_run):
        # Forgetting hydra.run.dir= resumed into a new folder: half the run in each, the best of the first half
        # forgotten by the checkpoint callback (Lightning only warned), the model file the second half's best.
        raise ResumeRefusedError(
            f"ckpt_path={path} is a checkpoint of the run in {own_run}: resume it there, with its command and "
            f"ckpt_path={resolved} hydra.run.dir={own_run}"
        )
    if last.is_file() and last.resolve() != resolved:
        ahead = torch.load(last, map_location="cpu", weights_only=True, mmap=True)
        if int(ahead.get("global_step", 0)) > int(checkpoint.get("global_step", 0)):
            # An epoch_NNN.ckpt given for last.ckpt: the run would go on from that epoch and write over last.ckpt,
            # throwing away every epoch after it.
            raise ResumeRefusedError(
                f"ckpt_path={path} holds {int(checkpoint.get('epoch', -1)) + 1} epochs of this run, its last.ckpt "
                f"{int(ahead.get('epoch', -1)) + 1}: resuming it would train over last.ckpt and lose the epochs after "
                f"it; resume with ckpt_path={last.resolve()}"
            )
    return checkpoint


def check_checkpoint_network(module: L.LightningModule, checkpoint: dict[str, Any], path: str) -> None:
    """ResumeRefusedError, in one line, when the checkpoint's weights are not this configuration's network."""
    own = module.state_dict()
    theirs = checkpoint.get("state_dict", {})
    differing = [
        key
        for key in own.keys() | theirs.keys()
        if key not in own or key not in theirs or own[key].shape != theirs[key].shape
    ]
    if differing:
        raise ResumeRefusedError(
            f"ckpt_path={path} holds another network than this configuration ({len(differing)} tensors differ, e.g. "
            f"{sorted(differing)[0]}): resume with the run's own options ({run_options_file(path)})"
        )


def _export(
    cfg: DictConfig,
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    metrics: dict[str, float],
    run_info: RunInfo,
    best_checkpoint: str,
    initial_weights: dict[str, Any] | None,
    partial_test: bool,
) -> None:
    teacher = getattr(module, "teacher", None)
    teachers = teacher.describe() if teacher else getattr(datamodule, "distillation_record", lambda: None)()
    distillation = {**teachers, "weight": module.hparams.distillation_weight} if teachers else None
    training: dict[str, Any] = {
        "command": training_command(),
        "seed": cfg.get("seed"),
        "best_checkpoint": best_checkpoint,
        **({"init_from": initial_weights} if initial_weights else {}),
        **({"distillation": distillation} if distillation else {}),
        **run_info.state_dict(),
    }
    # A smoke or debug run that validated a few batches only: fitting temperatures on the whole validation split
    # would cost minutes on a CPU, far more than the run itself, for a model file nobody ships.
    val = None if ran_a_fraction(cfg.get("trainer", {}), "limit_val_batches") else datamodule.val_set
    if val is None:
        log.warning(
            "export: temperatures not fitted (this run validated on a few batches only: fast_dev_run or "
            "limit_val_batches); fit them with scripts/calibrate.py model_path=%s",
            cfg.export.path,
        )
    path = Path(cfg.export.path)
    if partial_test:
        # Test figures of a few batches would read as the test set's: the file records none (compare_models: "-").
        metrics = {name: value for name, value in metrics.items() if not name.startswith("test/")}
        # early_exit=none: every view of every face, recorded as the test/acc* figures compare_models shows (with
        # the file's early exit, which calibrate.py adds, predict.py records test/acc@early_exit only)
        log.warning(
            "export: no test figures in the model file (this run tested a few batches only); measure them with "
            "scripts/predict.py model_path=%s early_exit=none record_metrics=true",
            path,
        )
    model = export_model(
        module.net.float().cpu(),
        Preprocessing(**cfg.augmentation.eval),
        path,
        val.images.squeeze(1).numpy() if val is not None else None,
        val.labels.numpy() if val is not None else None,
        metrics,
        training,
        _crop_geometry(cfg.export.get("crop_geometry_from")),
    )
    path.with_name(path.stem + "_architecture.txt").write_text(architecture_text(model))
    log.info("exported %s", path)


def _crop_geometry(model_path: str | None) -> CropGeometry:
    """The crop geometry of `model_path` (a distilled student cuts real faces like its teacher), else the default."""
    return load_model_file(Path(model_path)).crop_geometry if model_path else CropGeometry()


def run(cfg: DictConfig) -> float | None:
    """Train; return the metric a sweep optimises. Bad input (data, model files, options) is one line on stderr,
    exit 2 (in a sweep, JobRefusedError: the sweep goes on to its next job); Ctrl-C is one line saying how to resume,
    exit 130; a write that failed mid-run (a full disk) is one line naming the file and how to resume, exit 1."""
    expand_home(cfg)
    try:
        metrics = train(cfg)
    except REFUSAL_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        if _sweeper() is not None:
            raise JobRefusedError(f"{type(error).__name__}: {error}") from None  # as its run_summary.json says
        sys.exit(2)
    except TrainingInterrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_status)
    except OutputWriteError as error:  # the machine, not the command: a sweep's next job would fail the same way
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    return metrics.get(cfg.get("optimized_metric"))
