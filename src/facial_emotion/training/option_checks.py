"""train.py's options checked before anything is built: one line naming the option, not a traceback from deep inside
Lightning, torch's DataLoader or a scheduler minutes later (or a silent wrong run: `data.skip_bad_rows=maybe`).

Only what a user sets on the command line and what would otherwise fail late or unclearly is checked here; Hydra
and the option-name check (`tasks/option_names.py`) have already refused what does not exist.
"""

from __future__ import annotations

import math

import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf

from facial_emotion.core.options import OptionError, as_float, flag

# dotted key -> (lowest, highest, whole number); a key the config does not have (another model) is not checked.
_NUMBERS: dict[str, tuple[float | None, float | None, bool]] = {
    "data.batch_size": (1, None, True),
    "data.eval_batch_size": (1, None, True),
    "data.num_workers": (0, None, True),
    "data.soft_labels_weight": (0, 1, False),
    "model.label_smoothing": (0, 1, False),
    "model.distillation_weight": (0, 1, False),
    "model.logit_adjustment": (0, None, False),
    "trainer.accumulate_grad_batches": (1, None, True),
}
_FLAGS = ("data.skip_bad_rows", "data.pin_memory", "model.channels_last", "model.compile")
_GPU_ACCELERATORS = ("gpu", "cuda")


def check_option_values(cfg: DictConfig) -> None:
    """OptionError for a number out of range or not a number, a yes/no that is neither, or a trainer that cannot
    run here (a GPU trainer without a GPU, `trainer.max_epochs=0`). Yes/no options are set to their bool."""
    for key, (lowest, highest, whole) in _NUMBERS.items():
        _check_number(cfg, key, lowest, highest, whole)
    for key in _FLAGS:
        value = OmegaConf.select(cfg, key)
        if value is not None:
            OmegaConf.update(cfg, key, flag(OmegaConf.create({key: value}), key), merge=False)
    _check_epochs(cfg)
    _check_accelerator(cfg)


def _check_number(cfg: DictConfig, key: str, lowest: float | None, highest: float | None, whole: bool) -> None:
    value = OmegaConf.select(cfg, key)
    if value is None:
        return
    parsed = as_float(value)
    kind = "a whole number" if whole else "a number"
    if not math.isfinite(parsed) or (whole and not parsed.is_integer()):
        raise OptionError(f"{key} must be {kind}, got {value!r}")
    if (lowest is not None and parsed < lowest) or (highest is not None and parsed > highest):
        bounds = f"from {lowest:g} to {highest:g}" if highest is not None else f">= {lowest:g}"
        raise OptionError(f"{key} must be {kind} {bounds}, got {value!r}")
    OmegaConf.update(cfg, key, int(parsed) if whole else parsed, merge=False)  # "0.5" as text: the number


def _check_epochs(cfg: DictConfig) -> None:
    epochs = OmegaConf.select(cfg, "trainer.max_epochs")
    if epochs is None:
        return
    parsed = as_float(epochs)
    if not (parsed.is_integer() and (parsed >= 1 or (parsed == -1 and _positive(cfg, "trainer.max_steps")))):
        raise OptionError(
            f"trainer.max_epochs must be a whole number >= 1 (or -1 with trainer.max_steps), got {epochs!r}"
        )


def _positive(cfg: DictConfig, key: str) -> bool:
    value = as_float(OmegaConf.select(cfg, key))
    return math.isfinite(value) and value > 0


def _check_accelerator(cfg: DictConfig) -> None:
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator") or "").lower()
    if accelerator not in _GPU_ACCELERATORS:
        return
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        raise OptionError(
            f"trainer.accelerator={accelerator}: PyTorch finds no GPU on this machine ({_cuda_build()}): train on "
            "the CPU with trainer=cpu (DDP over CPU processes: trainer=ddp trainer.accelerator=cpu "
            "trainer.sync_batchnorm=false)"
        )
    devices = OmegaConf.select(cfg, "trainer.devices")
    count = torch.cuda.device_count()
    if torch.cuda.is_available() and isinstance(devices, int) and devices > count:
        raise OptionError(f"trainer.devices={devices}: this machine has {count} GPU{'s' if count != 1 else ''}")


def _cuda_build() -> str:
    cuda = torch.version.cuda
    return f"torch {torch.__version__}, built for CUDA {cuda}" if cuda else f"torch {torch.__version__}, a CPU build"


def trainer_error(error: BaseException) -> OptionError | None:
    """What Lightning's Trainer refused while being built (an unknown precision, a missing accelerator package), as
    an OptionError naming `trainer`; None for anything else (a bug is reported as one)."""
    if isinstance(error, (MisconfigurationException, ValueError, ModuleNotFoundError)):
        return OptionError(f"trainer: {error}")
    return None
