"""`scripts/robustness_report.py`: how often a few grey levels fool the model, over the test faces it
predicts as the source class (targeted source -> target and untargeted), at several budgets."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from facial_emotion.adversarial.linf_attack import AttackSettings
from facial_emotion.adversarial.plots import plot_robustness
from facial_emotion.adversarial.robustness import format_table, robustness_table
from facial_emotion.core.hardware import describe_device
from facial_emotion.core.labels import emotion_index
from facial_emotion.core.model_file import output_tag
from facial_emotion.core.options import number
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import require_csv
from facial_emotion.inference.backends import differentiable_backend
from facial_emotion.inference.predictor import EmotionPredictor


def faces_predicted_as(
    predictor: EmotionPredictor, faces: np.ndarray, source: int, limit: int | None, seed: int
) -> tuple[np.ndarray, int]:
    """Indices of the faces predicted `source` (a seeded random subsample of `limit`) and their total."""
    predicted = np.flatnonzero(predictor.predict_proba(faces).argmax(axis=1) == source)
    if limit is None or limit >= len(predicted):
        return predicted, len(predicted)
    chosen = np.random.default_rng(seed).choice(predicted, size=limit, replace=False)
    return np.sort(chosen), len(predicted)


def run(cfg: DictConfig) -> int:
    """Attack the faces, print the table, write robustness.md and robustness.png."""
    expand_home(cfg)
    started = time.perf_counter()
    try:
        backend = differentiable_backend(cfg.get("backend", "torch"))
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, device=cfg.device, backend=backend)
        source, target = emotion_index(cfg.source), emotion_index(cfg.target)
        if source == target:
            raise ValueError(f"source and target are both {cfg.source}: nothing to attack")
        test = load_fer_csv(require_csv(Path(cfg.data_dir), cfg.test_file))
        number(cfg, "limit", minimum=1, integer=True)  # null: every face
        if not cfg.budgets:
            raise ValueError("give at least one budget: budgets=[1,2,4]")
    except (ValueError, FileNotFoundError) as error:  # model file, views, emotion names, test CSV
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = predictor.class_names
    indices, total = faces_predicted_as(predictor, test.images, source, cfg.limit, cfg.seed)
    scope = (
        f"all {total} test faces predicted {names[source]}"
        if len(indices) == total
        else f"a random subsample (seed {cfg.seed}) of {len(indices)} of the {total} test faces "
        f"predicted {names[source]}"
    )
    print(f"attacking {scope}; test-time views {predictor.tta}, {cfg.steps} steps per budget")
    settings = AttackSettings(steps=cfg.steps, step_size=cfg.step_size, batch_size=cfg.batch_size)
    rows = robustness_table(predictor, test.images[indices], source, target, list(cfg.budgets), settings)
    elapsed = time.perf_counter() - started
    table = format_table(rows, names[source], names[target])
    print(table)
    output_dir = Path(cfg.output_dir) / output_tag(Path(cfg.model_path))
    output_dir.mkdir(parents=True, exist_ok=True)
    title = f"{Path(cfg.model_path).name}, {predictor.tta} views, {len(indices)} {names[source]} faces"
    figure = plot_robustness(rows, names[source], names[target], title, output_dir / f"{cfg.report_name}.png")
    report = output_dir / f"{cfg.report_name}.md"
    report.write_text(robustness_markdown(cfg, predictor, table, scope, elapsed, figure.name))
    print(f"{elapsed:.0f} s on {describe_device(cfg.device)}; wrote {report} and {figure}")
    return 0


def robustness_markdown(
    cfg: DictConfig, predictor: EmotionPredictor, table: str, scope: str, elapsed: float, figure_name: str
) -> str:
    """The report: what was attacked, how, the table, and the hardware and time it took."""
    names = predictor.class_names
    source, target = emotion_index(cfg.source), emotion_index(cfg.target)
    return "\n".join(
        [
            f"# Robustness of `{Path(cfg.model_path).name}` to L-infinity attacks",
            "",
            f"Faces: {scope} (`{cfg.test_file}`).",
            "",
            f"Attack: iterative L-infinity PGD (sign steps of budget/4 grey levels, {cfg.steps} steps a budget) "
            f"through `EmotionPredictor.probabilities` with the **{predictor.tta}** test-time views and "
            f"temperature {predictor.temperature:.3f}. Success is decided on the *quantised* image (rounded to "
            f"integers, clipped to 0..255 and to the budget) by `predict_proba`, i.e. exactly what a saved PNG "
            f"gives. Targeted success: {names[target]} is the top class; untargeted: anything but "
            f"{names[source]} is. Rates are cumulative: a face fooled within b grey levels counts at larger "
            "budgets too (only the faces still standing are attacked again).",
            "",
            table,
            "",
            f"Budgets are in grey levels of 255 (1 grey level = {100 / 255:.2f}% of the range).",
            "",
            f"Run: `python scripts/robustness_report.py{command_overrides(cfg)}` in {elapsed:.0f} s on "
            f"{describe_device(cfg.device)}.",
            "",
            f"![success rate vs budget]({figure_name})",
            "",
        ]
    )


def command_overrides(cfg: DictConfig) -> str:
    """The overrides that reproduce this run's scope (tta and limit)."""
    parts = [
        f" tta={cfg.tta}" if cfg.tta else "",
        f" limit={cfg.limit}" if cfg.limit is not None else "",
        f" report_name={cfg.report_name}" if cfg.report_name != "robustness" else "",
    ]
    return "".join(parts)
