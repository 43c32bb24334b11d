"""How large an adversarial change is: max grey-level change, L2 norm and PSNR on the 0..255 scale."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PerturbationStats:
    """Size of `adversarial - original` in grey levels (0..255 scale)."""

    max_abs_change: int
    l2_norm: float
    psnr_db: float

    def describe(self) -> str:
        return (
            f"largest pixel change {self.max_abs_change} grey levels, L2 norm {self.l2_norm:.2f}, "
            f"PSNR {self.psnr_db:.2f} dB"
        )


def perturbation_stats(original: np.ndarray, adversarial: np.ndarray) -> PerturbationStats:
    """Stats of one image pair (any shape, uint8 or integer-valued)."""
    difference = adversarial.astype(np.float64) - original.astype(np.float64)
    mse = float(np.mean(difference**2))
    psnr = math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)
    l2_norm = float(np.sqrt(np.sum(difference**2)))
    return PerturbationStats(int(np.abs(difference).max(initial=0)), l2_norm, psnr)
