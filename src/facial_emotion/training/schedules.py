"""Learning-rate schedules that take `total_steps`, so the module can complete any of them alike."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR, OneCycleLR

# The options of warmup_cosine recorded on the scheduler (saved in checkpoints, compared on resume).
WARMUP_COSINE_OPTIONS = ("warmup_fraction", "final_lr_fraction")


def warmup_cosine(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float = 0.05, final_lr_fraction: float = 0.0
) -> LambdaLR:
    """Linear warm-up for `warmup_fraction` of the steps, then cosine decay to `final_lr_fraction`."""
    warmup_steps = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return final_lr_fraction + (1 - final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = LambdaLR(optimizer, factor)
    # Saved with the scheduler's state in every checkpoint: a resume of another length is refused
    # (training.resume_schedule) instead of jumping to another point of another curve.
    scheduler.total_steps = total_steps
    scheduler.warmup_fraction = warmup_fraction
    scheduler.final_lr_fraction = final_lr_fraction
    return scheduler


def one_cycle(optimizer: torch.optim.Optimizer, total_steps: int, pct_start: float = 0.3, **options: Any) -> OneCycleLR:
    """torch's OneCycleLR, also for a run so short that its warm-up is its first step alone.

    Torch's warm-up ends at step `pct_start * total_steps - 1`, and it divides by zero when that is step 0 (one
    epoch of 5 batches at pct_start 0.2, 10 at 0.1). Such a warm-up is ended a millionth of a step earlier: step 0
    runs at the peak, `max_lr`, as it would at the end of a one-step warm-up, and the annealing follows. Any other
    length is torch's own schedule.
    """
    if float(pct_start * total_steps) - 1 == 0:
        pct_start = (1 - 1e-6) / total_steps
    return OneCycleLR(optimizer, total_steps=total_steps, pct_start=pct_start, **options)
