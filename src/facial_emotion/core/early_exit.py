"""Early exit through the test-time views: cheap views first, all of the file's views only for unsure faces.

A policy is a list of stages, each a test-time augmentation and a confidence, written
`zoomed_center@0.8,multi_scale_hflip@0.5`. A face whose calibrated probability (the stage's views averaged at
that mode's temperature) reaches the stage's confidence takes that stage's probabilities; the others go on to
the next stage, and those left at the end get the file's own views. Every mode's views are a subset of the 20
multi-scale ten-crop views, so a later stage reuses the views an earlier one computed.

On the shipped VGG (FER2013 validation) three faces in four stop after one or four views, and the predictions
agree with the 20 views' on 99.5% of faces: ~4.7 views per face instead of 20. `choose_early_exit` picks the
cheapest policy of a fixed grid that keeps that agreement on the validation split, and fits a temperature for the
faces that stop at each stage (recorded beside the policy as `Preprocessing.early_exit_temperatures`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from facial_emotion.core.calibration import fit_temperature, mean_view_probabilities
from facial_emotion.core.preprocessing import TTA_MODES, Preprocessing, views_within_all

Stage = tuple[str, float]
OFF = ("", "none")
MIN_AGREEMENT = 0.995  # top-1 agreement with the file's own views on validation that a chosen policy must keep
FIRST_STAGES = ("zoomed_center", "center")
SECOND_STAGES = ("multi_scale_hflip", "hflip")
CONFIDENCES = tuple(round(0.4 + 0.05 * i, 2) for i in range(12))  # 0.40 .. 0.95
MIN_FACES_TO_FIT = 50  # a stage where fewer validation faces stop keeps its mode's temperature


def parse_early_exit(spec: str | None) -> tuple[Stage, ...]:
    """`"mode@confidence,..."` -> stages; `""`, `"none"` or None -> no early exit. ValueError names what is wrong."""
    if spec is None or str(spec).strip().lower() in OFF:
        return ()
    stages = []
    for part in str(spec).split(","):
        mode, _, confidence = part.strip().partition("@")
        if mode not in TTA_MODES:
            raise ValueError(f"early_exit: {mode!r} is not a test-time augmentation ({', '.join(TTA_MODES)})")
        try:
            value = float(confidence)
        except ValueError:
            raise ValueError(f"early_exit: {part.strip()!r} needs a confidence, as in zoomed_center@0.8") from None
        if not 0 < value < 1:
            raise ValueError(f"early_exit: the confidence of {mode} must be between 0 and 1, got {value}")
        stages.append((mode, value))
    return tuple(stages)


def format_early_exit(stages: Sequence[Stage]) -> str:
    """Stages -> their `mode@confidence,...` text ("none" for no early exit)."""
    return ",".join(f"{mode}@{confidence:g}" for mode, confidence in stages) or "none"


def with_early_exit(
    preprocessing: Preprocessing, stages: Sequence[Stage], exit_temperatures: Sequence[float] = ()
) -> Preprocessing:
    """`preprocessing` recording `stages` ("" for none) and their exit temperatures (empty: the modes' own)."""
    text = format_early_exit(stages) if stages else ""
    return dataclasses.replace(preprocessing, early_exit=text, early_exit_temperatures=tuple(exit_temperatures))


@dataclass(frozen=True)
class CascadeResult:
    """Per face: calibrated probabilities, the same views' at temperature 1, the stage it stopped at
    (len(stages): the file's views); and how many views the network ran."""

    probabilities: torch.Tensor
    uncalibrated: torch.Tensor
    stopped_at: torch.Tensor
    views_computed: int


def cascade_probabilities(
    num_faces: int,
    logits_for: Callable[[torch.Tensor, list[int]], torch.Tensor],
    stages: Sequence[Stage],
    final_tta: str,
    temperature_for: Callable[[str], float],
    exit_temperatures: Sequence[float] = (),
) -> CascadeResult:
    """Run the stages, then `final_tta`, over `num_faces` faces.

    `logits_for(faces, views)` returns the (len(faces), len(views), classes) logits of those faces (indices) at
    those views (indices among the 20 of `views_within_all`); each view of a face is asked for at most once.
    Whether a face stops is decided at the mode's temperature (`temperature_for`); the probabilities it reports
    are at `exit_temperatures[stage]` where given (one per stage and one for `final_tta`): fitted on the faces
    that stop there, which are not a random sample of the mode's faces (those going on were unsure).
    """
    pending = torch.arange(num_faces)
    known: dict[int, torch.Tensor] = {}  # view index -> logits of the faces still pending when it was computed
    out = raw = torch.zeros(0, 0)
    stopped_at = torch.full((num_faces,), len(stages), dtype=torch.long)
    computed = 0
    for number, (mode, confidence) in enumerate([*stages, (final_tta, None)]):
        if len(pending) == 0:
            break
        wanted = views_within_all(mode)
        missing = [view for view in wanted if view not in known]
        if missing:
            fresh = logits_for(pending, missing)
            computed += fresh.shape[0] * fresh.shape[1]
            known.update({view: fresh[:, i] for i, view in enumerate(missing)})
        logits = torch.stack([known[view] for view in wanted], dim=1)
        probs = mean_view_probabilities(logits, temperature_for(mode))
        if number == 0:
            out, raw = torch.empty(num_faces, probs.shape[-1]), torch.empty(num_faces, probs.shape[-1])
        sure = torch.ones(len(pending), dtype=torch.bool) if confidence is None else probs.amax(-1) >= confidence
        if exit_temperatures:
            probs = mean_view_probabilities(logits, exit_temperatures[number])
        out[pending[sure]] = probs[sure]
        raw[pending[sure]] = mean_view_probabilities(logits[sure], 1.0)
        stopped_at[pending[sure]] = number
        pending = pending[~sure]
        known = {view: logits[~sure] for view, logits in known.items()}
    return CascadeResult(out, raw, stopped_at, computed)


@dataclass(frozen=True)
class EarlyExitChoice:
    """A policy chosen on held-out faces: its stages, top-1 agreement with the file's views, views per face,
    accuracy (and the file's views'), and the temperature of the faces stopping at each stage and at the end."""

    stages: tuple[Stage, ...]
    agreement: float
    views_per_face: float
    accuracy: float
    full_accuracy: float
    exit_temperatures: tuple[float, ...] = ()


def choose_early_exit(
    every_view: torch.Tensor,
    labels: torch.Tensor,
    final_tta: str,
    temperature_for: Callable[[str], float],
    min_agreement: float = MIN_AGREEMENT,
    first_stages: Sequence[str] = FIRST_STAGES,
) -> EarlyExitChoice:
    """The cheapest policy of the grid (one of `first_stages`, optionally a second stage, each at CONFIDENCES)
    whose predictions agree with `final_tta`'s on >= `min_agreement` of the faces; no stages if none is cheaper.

    `every_view`: (N, 20, classes) logits of the 20 views of held-out faces.
    """
    labels = torch.as_tensor(labels).long()

    def evaluate(stages: tuple[Stage, ...]) -> CascadeResult:
        return cascade_probabilities(
            len(every_view), lambda faces, views: every_view[faces][:, views], stages, final_tta, temperature_for
        )

    full = evaluate(())
    full_top1 = full.probabilities.argmax(-1)
    full_accuracy = float((full_top1 == labels).float().mean())
    best = EarlyExitChoice((), 1.0, full.views_computed / len(every_view), full_accuracy, full_accuracy)
    final_views = set(views_within_all(final_tta))
    usable = [mode for mode in (*first_stages, *SECOND_STAGES) if set(views_within_all(mode)) < final_views]
    candidates = [((first, c1),) for first in usable for c1 in CONFIDENCES]
    candidates += [
        ((first, c1), (second, c2))
        for first in usable
        if first in first_stages
        for second in usable
        if second in SECOND_STAGES
        for c1 in CONFIDENCES
        for c2 in CONFIDENCES
        if c2 <= c1
    ]
    for stages in candidates:
        result = evaluate(stages)
        top1 = result.probabilities.argmax(-1)
        agreement = float((top1 == full_top1).float().mean())
        views = result.views_computed / len(every_view)
        if agreement >= min_agreement and views < best.views_per_face:
            accuracy = float((top1 == labels).float().mean())
            best = EarlyExitChoice(stages, agreement, views, accuracy, full_accuracy)
    if not best.stages:
        return best
    stopped_at = evaluate(best.stages).stopped_at
    exit_temperatures = []
    for number, mode in enumerate([*(mode for mode, _ in best.stages), final_tta]):
        stopped = stopped_at == number
        fitted = stopped.sum() >= MIN_FACES_TO_FIT
        logits = every_view[stopped][:, views_within_all(mode)]
        exit_temperatures.append(fit_temperature(logits, labels[stopped]) if fitted else temperature_for(mode))
    return dataclasses.replace(best, exit_temperatures=tuple(exit_temperatures))
