"""Learning-rate schedules that take `total_steps`, so the module can complete any of them alike."""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


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
    return scheduler
