"""Attack success rates over many faces at several L-infinity budgets, batched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facial_emotion.adversarial.linf_attack import DEFAULT_SETTINGS, AttackSettings, linf_attack_batch
from facial_emotion.inference.predictor import EmotionPredictor


@dataclass(frozen=True)
class BudgetSuccess:
    """How many of `attacked` faces the targeted and the untargeted attack fooled at `budget` grey levels."""

    budget: int
    attacked: int
    targeted_successes: int
    untargeted_successes: int

    @property
    def targeted_rate(self) -> float:
        return self.targeted_successes / max(self.attacked, 1)

    @property
    def untargeted_rate(self) -> float:
        return self.untargeted_successes / max(self.attacked, 1)


def cumulative_success(
    predictor: EmotionPredictor,
    faces: np.ndarray,
    label: int,
    budgets: Sequence[int],
    targeted: bool,
    settings: AttackSettings = DEFAULT_SETTINGS,
) -> dict[int, int]:
    """Faces fooled at each budget (ascending). A face fooled within b grey levels is fooled within any
    larger budget too, so only the faces still standing are attacked again at the next budget."""
    fooled = np.zeros(len(faces), dtype=bool)
    counts = {}
    for budget in sorted(budgets):
        standing = np.flatnonzero(~fooled)
        if len(standing):
            _, success = linf_attack_batch(
                predictor, faces[standing], np.full(len(standing), label), budget, targeted, settings
            )
            fooled[standing[success]] = True
        counts[budget] = int(fooled.sum())
    return counts


def robustness_table(
    predictor: EmotionPredictor,
    faces: np.ndarray,
    source: int,
    target: int,
    budgets: Sequence[int],
    settings: AttackSettings = DEFAULT_SETTINGS,
) -> list[BudgetSuccess]:
    """Targeted source -> target and untargeted (away from source) success at each budget."""
    targeted = cumulative_success(predictor, faces, target, budgets, targeted=True, settings=settings)
    untargeted = cumulative_success(predictor, faces, source, budgets, targeted=False, settings=settings)
    return [BudgetSuccess(b, len(faces), targeted[b], untargeted[b]) for b in sorted(budgets)]


def format_table(rows: Sequence[BudgetSuccess], source_name: str, target_name: str) -> str:
    """Markdown table of the success rates."""
    lines = [
        f"| budget (grey levels) | faces | targeted {source_name}->{target_name} | untargeted |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.budget} | {r.attacked} | {r.targeted_rate:.1%} ({r.targeted_successes}) "
        f"| {r.untargeted_rate:.1%} ({r.untargeted_successes}) |"
        for r in rows
    ]
    return "\n".join(lines)
