"""`scripts/hack_the_cnn.py`: fool the model into a chosen emotion with an invisible change, and prove it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from facial_emotion.adversarial.face_io import load_face_image, read_face_png, save_face_png
from facial_emotion.adversarial.options import attack_settings, prepare_output_dir, probability, whole_number
from facial_emotion.adversarial.plots import plot_attack_comparison
from facial_emotion.adversarial.single_image import (
    AttackResult,
    NotPredictedAsSourceError,
    require_predicted_class,
    smallest_budget_attack,
)
from facial_emotion.core.labels import emotion_index
from facial_emotion.core.model_file import output_tag
from facial_emotion.core.options import OptionError, path_option
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.data.locate import PROJECT_ROOT, require_csv
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
    image = path_option(cfg.get("image"))
    if image is not None:
        face, notes = load_face_image(image)
        for note in notes:
            print(f"note: {image}: {note} (the model sees 48x48 grayscale)")
        yield str(image), face
        return
    test = load_fer_csv(require_csv(Path(cfg.data_dir), cfg.test_file))
    if cfg.get("index") is not None:
        index = whole_number(cfg, "index", 0)
        if index >= len(test.images):
            raise OptionError(f"index must be below {len(test.images)}, the number of test faces, got {index}")
        indices: Iterator[int] = iter([index])
    else:
        confidence, limit = probability(cfg, "min_source_confidence"), whole_number(cfg, "max_candidates", 1)
        indices = confident_test_indices(predictor, test.images, source, confidence, limit)
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
    """Attack, save the PNGs and the comparison, verify from the saved PNG: 0 when fooled, 1 when the face is not
    predicted `source` or not fooled within `max_budget` (nothing written), 2 on bad input."""
    expand_home(cfg)
    try:
        backend = differentiable_backend(cfg.get("backend", "torch"))
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, device=cfg.device, backend=backend)
        source, target = emotion_index(cfg.source), emotion_index(cfg.target)
        if source == target:
            raise ValueError(f"source and target are both {cfg.source}: nothing to change")
        settings = attack_settings(cfg, "min_target_confidence")
        max_budget = whole_number(cfg, "max_budget", 1)
        if path_option(cfg.get("image")) is None and cfg.get("index") is None:
            probability(cfg, "min_source_confidence")
            whole_number(cfg, "max_candidates", 1)
        output_dir = prepare_output_dir(Path(cfg.output_dir) / output_tag(Path(cfg.model_path), PROJECT_ROOT))
    except ValueError as error:  # a missing or bad model file, unknown views or emotion names, a bad option
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = predictor.class_names
    print(
        f"model {cfg.model_path} (test-time views: {predictor.tta}, "
        f"temperature {predictor.temperature:.3f}); "
        f"attack {names[source]} -> {names[target]}, at most {max_budget} grey levels, "
        f"{names[target]} > {settings.min_confidence:.0%}"
    )
    result, description, tried = None, "", 0
    searching = path_option(cfg.get("image")) is None and cfg.get("index") is None
    try:
        for description, face in candidate_faces(cfg, predictor, source):
            require_predicted_class(predictor, face, source)
            tried += 1
            result = smallest_budget_attack(predictor, face, target, True, max_budget, settings)
            if result.success:
                break
            if searching:
                print(f"{description}: not fooled within {max_budget} grey levels, trying the next one")
    except NotPredictedAsSourceError as error:
        predicted = names[int(predictor.predict_proba(face)[0].argmax())]
        print(f"refused: {description}: {error} (source={predicted} attacks it as it is)")
        return 1
    except (FERDataError, OSError, OptionError) as error:  # no test CSV or a bad row, image= missing or not an image
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result is None:
        confidence = probability(cfg, "min_source_confidence")
        print(f"refused: no test image is predicted {names[source]} with >= {confidence:.0%}")
        return 1
    if tried > 1:
        print(f"({tried} confident {names[source]} faces tried, in test-set order)")
    report(result, description, names)
    if not result.success:  # the committed example in output_dir stays as it is
        which = f"any of the {tried} faces tried" if tried > 1 else description
        print(
            f"not fooled: {names[target]} is not on top with more than {settings.min_confidence:.0%} for {which} "
            f"within {max_budget} grey levels (max_budget={2 * max_budget} may do it); nothing written"
        )
        return 1
    return save_and_verify(result, predictor, target, settings.min_confidence, output_dir)


def save_and_verify(
    result: AttackResult, predictor: EmotionPredictor, target: int, min_confidence: float, output_dir: Path
) -> int:
    """Write input/hacked PNGs and the comparison figure into `output_dir`; reload the hacked PNG and predict it
    again: 0 when it still gives `target` above `min_confidence` with the same pixels, else 2."""
    save_face_png(result.original, output_dir / "input_image.png")
    hacked_path = save_face_png(result.adversarial, output_dir / "hacked_image.png")
    plot_attack_comparison(result, predictor.class_names, output_dir / "comparison.png")
    reloaded = read_face_png(hacked_path)
    probabilities = predictor.predict_proba(reloaded)[0]
    names = predictor.class_names
    fooled = int(probabilities.argmax()) == target and probabilities[target] > min_confidence
    identical = np.array_equal(reloaded, result.adversarial)
    verdict = "FOOLED" if fooled else "NOT fooled"
    print(
        f"reloaded {hacked_path}: {reloaded.shape[0]}x{reloaded.shape[1]} grayscale, "
        f"{'identical pixels' if identical else 'PIXELS DIFFER'}; predicted "
        f"{names[int(probabilities.argmax())]} {probabilities.max():.1%} -> {verdict}"
    )
    print(f"wrote {output_dir / 'input_image.png'}, {hacked_path}, {output_dir / 'comparison.png'}")
    return 0 if fooled and identical else 2
