"""`scripts/robustness_report.py`: how often a few grey levels fool the model, over the test faces it
predicts as the source class (targeted source -> target and untargeted), at several budgets."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf

from facial_emotion.adversarial.options import attack_settings, budgets, prepare_output_dir, whole_number
from facial_emotion.adversarial.plots import plot_robustness
from facial_emotion.adversarial.robustness import format_table, robustness_table
from facial_emotion.core.hardware import describe_device
from facial_emotion.core.labels import emotion_index
from facial_emotion.core.model_file import output_tag
from facial_emotion.core.options import OptionError, number
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import PROJECT_ROOT, require_csv
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
        settings = attack_settings(cfg)
        attack_budgets = budgets(cfg)
        limit = number(cfg, "limit", minimum=1, integer=True)  # null: every face
        seed = whole_number(cfg, "seed", 0)
        report_name = str(cfg.report_name)
        if not report_name or Path(report_name).name != report_name:
            raise OptionError(f"report_name must be a file name without a folder, got {cfg.report_name!r}")
        output_dir = prepare_output_dir(Path(cfg.output_dir) / output_tag(Path(cfg.model_path), PROJECT_ROOT))
        test = load_fer_csv(require_csv(Path(cfg.data_dir), cfg.test_file))
    except (ValueError, OSError) as error:  # model file, views, emotion names, an option, test CSV, output folder
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = predictor.class_names
    indices, total = faces_predicted_as(predictor, test.images, source, None if limit is None else int(limit), seed)
    scope = (
        f"all {total} test faces predicted {names[source]}"
        if len(indices) == total
        else f"a random subsample (seed {seed}) of {len(indices)} of the {total} test faces predicted {names[source]}"
    )
    print(f"attacking {scope}; test-time views {predictor.tta}, {settings.steps} steps per budget")
    rows = robustness_table(predictor, test.images[indices], source, target, attack_budgets, settings)
    elapsed = time.perf_counter() - started
    table = format_table(rows, names[source], names[target])
    print(table)
    title = f"{Path(cfg.model_path).name}, {predictor.tta} views, {len(indices)} {names[source]} faces"
    figure = plot_robustness(rows, names[source], names[target], title, output_dir / f"{report_name}.png")
    report = output_dir / f"{report_name}.md"
    report.write_text(robustness_markdown(cfg, predictor, table, scope, elapsed, figure.name))
    print(f"{elapsed:.0f} s on {describe_device(cfg.device)}; wrote {report} and {figure}")
    return 0


def robustness_markdown(
    cfg: DictConfig, predictor: EmotionPredictor, table: str, scope: str, elapsed: float, figure_name: str
) -> str:
    """The report: what was attacked, how, the table, and the hardware and time it took."""
    names = predictor.class_names
    source, target = emotion_index(cfg.source), emotion_index(cfg.target)
    step_text = "budget/4" if cfg.get("step_size") is None else f"{cfg.step_size}"
    return "\n".join(
        [
            f"# Robustness of `{Path(cfg.model_path).name}` to L-infinity attacks",
            "",
            f"Faces: {scope} (`{cfg.test_file}`).",
            "",
            f"Attack: iterative L-infinity PGD (sign steps of {step_text} grey levels, {cfg.steps} steps a budget) "
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


# The options that change what a report measures, at configs/robustness_report.yaml's values (tests check they match):
# a report's command names every one a run changed, so the command reproduces it.
MEASURE_DEFAULTS = {
    "source": "Happy",
    "target": "Sad",
    "budgets": [1, 2, 4, 8],
    "limit": None,
    "steps": 20,
    "step_size": None,
    "tta": None,
    "test_file": "test_with_emotions.csv",
}
SHIPPED_MODEL = "my_own_model.pkl"


def command_overrides(cfg: DictConfig) -> str:
    """The overrides that reproduce this run: each option of MEASURE_DEFAULTS that differs from its default, the seed
    of a subsample, a model file other than the shipped one, and the report name."""
    parts = []
    if Path(cfg.model_path).name != SHIPPED_MODEL:
        parts.append(f"model_path={cfg.model_path}")
    for key, default in MEASURE_DEFAULTS.items():
        value = OmegaConf.to_object(cfg[key]) if isinstance(cfg.get(key), ListConfig) else cfg.get(key)
        if value != default:
            parts.append(f"{key}={_override_text(value)}")
    if cfg.get("limit") is not None and cfg.get("seed", 0) != 0:
        parts.append(f"seed={cfg.seed}")
    if cfg.report_name != "robustness":
        parts.append(f"report_name={cfg.report_name}")
    return "".join(f" {part}" for part in parts)


def _override_text(value: object) -> str:
    """A value as it is typed on the command line: `[1,2]`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(str(item) for item in value) + "]"
    return str(value)
