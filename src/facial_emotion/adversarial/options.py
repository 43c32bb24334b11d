"""The attack scripts' options, read strictly before any work: an `OptionError` naming the option, never a traceback
minutes later (`max_budget=abc`, `budgets=[1.5]`, `batch_size=0`, an `output_dir=` that is a file)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from facial_emotion.adversarial.linf_attack import AttackSettings
from facial_emotion.core.options import OptionError, number


def whole_number(cfg: DictConfig, key: str, minimum: int) -> int:
    """`cfg[key]` as a whole number >= `minimum`; null is refused too."""
    value = number(cfg, key, minimum=minimum, integer=True)
    if value is None:
        raise OptionError(f"{key} must be a whole number >= {minimum}, got null")
    return int(value)


def probability(cfg: DictConfig, key: str, below_one: bool = False) -> float:
    """`cfg[key]` as a probability: 0 to 1 (1 excluded with `below_one`: 'more than 1' could never happen)."""
    value = number(cfg, key, minimum=0)
    if value is None or value > 1 or (below_one and value == 1):
        upper = "below 1" if below_one else "at most 1"
        raise OptionError(f"{key} must be a number from 0 to {upper}, got {cfg.get(key)!r}")
    return value


def attack_settings(cfg: DictConfig, confidence_key: str | None = None) -> AttackSettings:
    """`steps`, `step_size` (null: budget / 4), `batch_size` where the config has it, and the target confidence."""
    step_size = number(cfg, "step_size", above=0)
    batch_size = whole_number(cfg, "batch_size", 1) if "batch_size" in cfg else AttackSettings.batch_size
    return AttackSettings(
        steps=whole_number(cfg, "steps", 1),
        step_size=step_size,
        min_confidence=probability(cfg, confidence_key, below_one=True) if confidence_key else 0.0,
        batch_size=batch_size,
    )


def budgets(cfg: DictConfig) -> list[int]:
    """`budgets=[1,2,4]` (or one `budgets=2`) as ascending whole numbers of grey levels, each at least 1."""
    value = cfg.get("budgets")
    items = list(value) if isinstance(value, ListConfig | list | tuple) else [value]
    try:
        parsed = [whole_number(OmegaConf.create({"budget": item}), "budget", 1) for item in items]
    except (OptionError, ValueError):  # a nested list or mapping cannot be read as a number either
        parsed = []
    if not parsed:
        raise OptionError(f"budgets must be whole numbers of grey levels >= 1, e.g. budgets=[1,2,4], got {value!r}")
    return sorted(set(parsed))


def prepare_output_dir(path: Path, key: str = "output_dir") -> Path:
    """Make the folder the outputs go in, before the attack rather than after it; `OptionError` naming `key` when it
    cannot be made (a file in the way, no permission)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OptionError(f"{key}: cannot make {path} ({error.strerror or error})") from None
    return path
