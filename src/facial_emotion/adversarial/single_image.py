"""One-face attacks with full bookkeeping: targeted, untargeted, and the smallest budget that works."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facial_emotion.adversarial.linf_attack import DEFAULT_SETTINGS, AttackSettings, linf_attack_batch
from facial_emotion.adversarial.perturbation import PerturbationStats, perturbation_stats
from facial_emotion.inference.predictor import EmotionPredictor


class NotPredictedAsSourceError(ValueError):
    """The face to attack is not predicted as the class the attack is supposed to start from."""


@dataclass(frozen=True)
class AttackResult:
    """A uint8 face before and after the attack, with the model's probabilities for both.

    `success` is re-checked with `EmotionPredictor.predict_proba` on the final uint8 image.
    `label` is the target (targeted) or the class moved away from (untargeted).
    """

    original: np.ndarray
    adversarial: np.ndarray
    label: int
    targeted: bool
    budget: int
    success: bool
    probabilities_before: np.ndarray
    probabilities_after: np.ndarray
    stats: PerturbationStats


def require_predicted_class(predictor: EmotionPredictor, image: np.ndarray, source: int) -> np.ndarray:
    """Return the face's probabilities; raise `NotPredictedAsSourceError` unless its top class is `source`."""
    probabilities = predictor.predict_proba(image)[0]
    predicted = int(probabilities.argmax())
    if predicted != source:
        names = predictor.class_names
        raise NotPredictedAsSourceError(
            f"the image is predicted {names[predicted]} ({probabilities[predicted]:.1%}), "
            f"not {names[source]} ({probabilities[source]:.1%}); refusing to attack it as a "
            f"{names[source]} face"
        )
    return probabilities


def attack_image(
    predictor: EmotionPredictor,
    image: np.ndarray,
    label: int,
    budget: int,
    targeted: bool,
    settings: AttackSettings = DEFAULT_SETTINGS,
) -> AttackResult:
    """Attack one uint8 (48, 48) face toward (targeted) or away from (untargeted) class `label`."""
    image = np.asarray(image, dtype=np.uint8)
    adversarial, success = linf_attack_batch(predictor, image[None], np.array([label]), budget, targeted, settings)
    before, after = predictor.predict_proba(np.stack([image, adversarial[0]]))
    return AttackResult(
        image,
        adversarial[0],
        label,
        targeted,
        budget,
        bool(success[0]),
        before,
        after,
        perturbation_stats(image, adversarial[0]),
    )


def targeted_attack(
    predictor: EmotionPredictor,
    image: np.ndarray,
    target: int,
    budget: int,
    settings: AttackSettings = DEFAULT_SETTINGS,
    source: int | None = None,
) -> AttackResult:
    """Push one face to `target` within `budget` grey levels; with `source`, refuse faces not predicted so."""
    if source is not None:
        require_predicted_class(predictor, image, source)
    return attack_image(predictor, image, target, budget, targeted=True, settings=settings)


def untargeted_attack(
    predictor: EmotionPredictor, image: np.ndarray, budget: int, settings: AttackSettings = DEFAULT_SETTINGS
) -> AttackResult:
    """Change the face's predicted class, whatever it becomes, within `budget` grey levels."""
    predicted = int(predictor.predict_proba(image)[0].argmax())
    return attack_image(predictor, image, predicted, budget, targeted=False, settings=settings)


def smallest_budget_attack(
    predictor: EmotionPredictor,
    image: np.ndarray,
    label: int,
    targeted: bool,
    max_budget: int,
    settings: AttackSettings = DEFAULT_SETTINGS,
) -> AttackResult:
    """Try budgets 1, 2, ... `max_budget` grey levels; return the first success, else the last attempt."""
    if max_budget < 1:
        raise ValueError(f"max_budget must be at least 1 grey level, got {max_budget}")
    for budget in range(1, max_budget + 1):
        result = attack_image(predictor, image, label, budget, targeted, settings)
        if result.success:
            break
    return result
