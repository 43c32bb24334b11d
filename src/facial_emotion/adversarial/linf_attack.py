"""Batched iterative L-infinity attack (PGD / iterative FGSM) that succeeds on the *quantised* image.

The attack works on the 0..255 pixel scale through `EmotionPredictor.probabilities`, so the model's
test-time augmentation and temperature are part of what is attacked. Each step evaluates the image
rounded to integers (straight-through estimator: the forward pass sees the rounded pixels, the gradient
flows to the continuous ones), so "success" always means the uint8 image a PNG would hold is
classified as wanted. Pixels stay inside [original - budget, original + budget] and 0..255; with an
integer budget and integer originals, rounding never leaves that box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from facial_emotion.inference.predictor import EmotionPredictor


@dataclass(frozen=True)
class AttackSettings:
    """Iterations, step size (grey levels; None: budget / 4, at least 0.25) and required confidence.

    `min_confidence` only applies to targeted attacks: the target probability must exceed it too.
    """

    steps: int = 20
    step_size: float | None = None
    min_confidence: float = 0.0
    batch_size: int = 256

    def step_for(self, budget: int) -> float:
        return self.step_size if self.step_size is not None else max(budget / 4.0, 0.25)


DEFAULT_SETTINGS = AttackSettings()


def is_attack_success(
    probabilities: torch.Tensor, labels: torch.Tensor, targeted: bool, min_confidence: float = 0.0
) -> torch.Tensor:
    """Targeted: top class is the label (and above `min_confidence`); untargeted: top class is not it."""
    top = probabilities.argmax(dim=1)
    if not targeted:
        return top != labels
    return (top == labels) & (probabilities.gather(1, labels[:, None]).squeeze(1) > min_confidence)


def log_probability_margin(probabilities: torch.Tensor, labels: torch.Tensor, targeted: bool) -> torch.Tensor:
    """What the attack maximises, per image: positive exactly when it succeeds (confidence aside).

    Targeted: log p(label) - max over other classes of log p; untargeted: the negative of that.
    """
    log_probs = probabilities.clamp_min(1e-12).log()
    label_log_prob = log_probs.gather(1, labels[:, None]).squeeze(1)
    best_other = log_probs.scatter(1, labels[:, None], -torch.inf).amax(dim=1)
    margin = label_log_prob - best_other
    return margin if targeted else -margin


def linf_attack_batch(
    predictor: EmotionPredictor,
    images: np.ndarray,
    labels: np.ndarray,
    budget: int,
    targeted: bool,
    settings: AttackSettings = DEFAULT_SETTINGS,
) -> tuple[np.ndarray, np.ndarray]:
    """Attack uint8 faces (N, 48, 48): targeted toward `labels`, or untargeted away from them.

    Returns the adversarial uint8 faces and a boolean success mask. Images stop being optimised once
    they succeed; failures return the quantised image that came closest. Success is finally re-checked
    with `predictor.predict_proba` on the returned uint8 faces, exactly what a saved PNG would give.
    """
    if budget < 0 or int(budget) != budget:
        raise ValueError(f"budget must be a non-negative whole number of grey levels, got {budget}")
    adversarial = np.array(images, dtype=np.uint8, copy=True)
    for start in range(0, len(images), settings.batch_size):
        chunk = slice(start, start + settings.batch_size)
        adversarial[chunk] = _attack_chunk(
            predictor,
            torch.from_numpy(adversarial[chunk]).float(),
            torch.as_tensor(labels[chunk]).long(),
            int(budget),
            targeted,
            settings,
        )
    verified = is_attack_success(
        torch.from_numpy(predictor.predict_proba(adversarial)),
        torch.as_tensor(labels).long(),
        targeted,
        settings.min_confidence,
    )
    return adversarial, verified.numpy()


def _attack_chunk(
    predictor: EmotionPredictor,
    original: torch.Tensor,
    labels: torch.Tensor,
    budget: int,
    targeted: bool,
    settings: AttackSettings,
) -> np.ndarray:
    low, high = (original - budget).clamp(0, 255), (original + budget).clamp(0, 255)
    current = original.clone()
    best = original.clone()
    best_objective = torch.full((len(original),), -torch.inf)
    succeeded = torch.zeros(len(original), dtype=torch.bool)
    step_size = settings.step_for(budget)
    for step in range(settings.steps + 1):
        active = (~succeeded).nonzero().squeeze(1)
        if len(active) == 0:
            break
        continuous = current[active].requires_grad_(True)
        quantised = continuous + (continuous.round() - continuous).detach()
        probabilities = predictor.probabilities(quantised)
        objective = log_probability_margin(probabilities, labels[active], targeted)
        with torch.no_grad():
            now_succeeds = is_attack_success(probabilities, labels[active], targeted, settings.min_confidence)
            improves = now_succeeds | (objective > best_objective[active])
            best[active[improves]] = quantised[improves]
            best_objective[active[improves]] = objective[improves]
            succeeded[active] = now_succeeds
        if step == settings.steps:
            break
        (gradient,) = torch.autograd.grad(objective.sum(), continuous)
        with torch.no_grad():
            moved = continuous + step_size * gradient.sign()
            current[active] = torch.minimum(torch.maximum(moved, low[active]), high[active])
    return best.round().clamp(0, 255).to(torch.uint8).numpy()
