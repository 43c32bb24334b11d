"""`scripts/hack_the_cnn.py`: fool the model into a chosen emotion with an invisible change, and prove it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from facial_emotion.adversarial.face_io import load_face_image, read_face_png, save_face_png
from facial_emotion.adversarial.linf_attack import AttackSettings
from facial_emotion.adversarial.plots import plot_attack_comparison
from facial_emotion.adversarial.single_image import (
    AttackResult,
    NotPredictedAsSourceError,
    require_predicted_class,
    smallest_budget_attack,
)
from facial_emotion.core.labels import emotion_index
from facial_emotion.core.model_file import output_tag
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.data.locate import require_csv
from facial_emotion.inference.backends import differentiable_backend
from facial_emotion.inference.predictor import EmotionPredictor

SCAN_CHUNK = 256


def confident_test_indices(
    predictor: EmotionPredictor, faces: np.ndarray, source: int, min_confidence: float, limit: int
) -> Iterator[int]:
    """Indices, in order, of the faces the model predicts `source` with at least `min_confidence`."""
    found = 0
    for start in range(0, len(faces), SCAN_CHUNK):
        probabilities = predictor.predict_proba(faces[start : start + SCAN_CHUNK])
        confident = (probabilities.argmax(axis=1) == source) & (probabilities[:, source] >= min_confidence)
        for offset in np.flatnonzero(confident):
            yield start + int(offset)
            found += 1
            if found >= limit:
                return


def candidate_faces(cfg: DictConfig, predictor: EmotionPredictor, source: int) -> Iterator[tuple[str, np.ndarray]]:
    """(description, face) pairs to attack: `image=PATH`, `index=N`, or confident test faces."""
    if cfg.image:
        face, notes = load_face_image(cfg.image)
        for note in notes:
            print(f"note: {cfg.image}: {note} (the model sees 48x48 grayscale)")
        yield str(cfg.image), face
        return
    test = load_fer_csv(require_csv(Path(cfg.data_dir), cfg.test_file))
    if cfg.index is not None:
        indices: Iterator[int] = iter([int(cfg.index)])
    else:
        indices = confident_test_indices(predictor, test.images, source, cfg.min_source_confidence, cfg.max_candidates)
    for index in indices:
        label = predictor.class_names[int(test.labels[index])]
        yield f"test image #{index} (labelled {label})", test.images[index]


def describe_probabilities(probabilities: np.ndarray, class_names: list[str]) -> str:
    """'Sad 57.0% | Happy 40.1% | ...' sorted by probability."""
    return " | ".join(f"{class_names[i]} {probabilities[i]:.1%}" for i in np.argsort(probabilities)[::-1])


def report(result: AttackResult, description: str, class_names: list[str]) -> None:
    """Print both predictions and the size of the change."""
    before, after = result.probabilities_before, result.probabilities_after
    print(f"input  {description}: predicted {class_names[int(before.argmax())]} {before.max():.1%}")
    print(f"       {describe_probabilities(before, class_names)}")
    print(f"hacked (budget {result.budget}): predicted {class_names[int(after.argmax())]} {after.max():.1%}")
    print(f"       {describe_probabilities(after, class_names)}")
    print(f"change: {result.stats.describe()}")


def run(cfg: DictConfig) -> int:
    """Attack, save the PNGs and the comparison, verify from the saved PNG; 0 on success."""
    expand_home(cfg)
    try:
        backend = differentiable_backend(cfg.get("backend", "torch"))
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, device=cfg.device, backend=backend)
        source, target = emotion_index(cfg.source), emotion_index(cfg.target)
        if source == target:
            raise ValueError(f"source and target are both {cfg.source}: nothing to change")
    except ValueError as error:  # a missing or bad model file, unknown views or emotion names
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = predictor.class_names
    settings = AttackSettings(steps=cfg.steps, step_size=cfg.step_size, min_confidence=cfg.min_target_confidence)
    print(
        f"model {cfg.model_path} (test-time views: {predictor.tta}, "
        f"temperature {predictor.temperature:.3f}); "
        f"attack {names[source]} -> {names[target]}, at most {cfg.max_budget} grey levels, "
        f"{names[target]} > {cfg.min_target_confidence:.0%}"
    )
    result, description, tried = None, "", 0
    try:
        for description, face in candidate_faces(cfg, predictor, source):
            require_predicted_class(predictor, face, source)
            tried += 1
            result = smallest_budget_attack(predictor, face, target, True, cfg.max_budget, settings)
            if result.success:
                break
            print(f"{description}: not fooled within {cfg.max_budget} grey levels, trying the next one")
    except (NotPredictedAsSourceError, FileNotFoundError, IndexError) as error:
        print(f"refused: {error}")
        return 1
    except (FERDataError, OSError) as error:  # a bad test CSV row, an image= that is not an image
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result is None:
        print(f"refused: no test image is predicted {names[source]} with >= {cfg.min_source_confidence:.0%}")
        return 1
    if tried > 1:
        print(f"({tried} confident {names[source]} faces tried, in test-set order)")
    report(result, description, names)
    return save_and_verify(result, predictor, target, cfg)


def save_and_verify(result: AttackResult, predictor: EmotionPredictor, target: int, cfg: DictConfig) -> int:
    """Write input/hacked PNGs and the comparison figure; reload the hacked PNG and predict it again."""
    output_dir = Path(cfg.output_dir) / output_tag(Path(cfg.model_path))
    save_face_png(result.original, output_dir / "input_image.png")
    hacked_path = save_face_png(result.adversarial, output_dir / "hacked_image.png")
    plot_attack_comparison(result, predictor.class_names, output_dir / "comparison.png")
    reloaded = read_face_png(hacked_path)
    probabilities = predictor.predict_proba(reloaded)[0]
    names = predictor.class_names
    fooled = int(probabilities.argmax()) == target and probabilities[target] > cfg.min_target_confidence
    identical = np.array_equal(reloaded, result.adversarial)
    verdict = "FOOLED" if fooled else "NOT fooled"
    print(
        f"reloaded {hacked_path}: {reloaded.shape[0]}x{reloaded.shape[1]} grayscale, "
        f"{'identical pixels' if identical else 'PIXELS DIFFER'}; predicted "
        f"{names[int(probabilities.argmax())]} {probabilities.max():.1%} -> {verdict}"
    )
    print(f"wrote {output_dir / 'input_image.png'}, {hacked_path}, {output_dir / 'comparison.png'}")
    return 0 if fooled and identical else 2
