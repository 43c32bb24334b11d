"""Adversarial attacks on the emotion model ("Hack the CNN"): quantisation-aware L-infinity PGD."""

from facial_emotion.adversarial.linf_attack import AttackSettings, is_attack_success, linf_attack_batch
from facial_emotion.adversarial.perturbation import PerturbationStats, perturbation_stats
from facial_emotion.adversarial.single_image import (
    AttackResult,
    NotPredictedAsSourceError,
    attack_image,
    require_predicted_class,
    smallest_budget_attack,
    targeted_attack,
    untargeted_attack,
)

__all__ = [
    "AttackResult",
    "AttackSettings",
    "NotPredictedAsSourceError",
    "PerturbationStats",
    "attack_image",
    "is_attack_success",
    "linf_attack_batch",
    "perturbation_stats",
    "require_predicted_class",
    "smallest_budget_attack",
    "targeted_attack",
    "untargeted_attack",
]
