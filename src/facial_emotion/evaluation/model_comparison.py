"""Side-by-side table of model files: recorded test accuracy, size, and measured CPU cost per face."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facial_emotion.core.model_file import model_label
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.benchmarking import inference_latency
from facial_emotion.evaluation.markdown import table_lines
from facial_emotion.inference.predictor import EmotionPredictor

ACCURACY_KEYS = {"all": "test/acc", "PublicTest": "test/acc_public", "PrivateTest": "test/acc_private"}


@dataclass(frozen=True)
class ModelRow:
    """One model's line in the comparison."""

    name: str
    architecture: str
    accuracy: dict[str, float | None]
    parameters: int
    file_mb: float
    ms_per_face: dict[str, float]  # "<tta> b<batch>" -> ms


def compare_model(path: Path, device: str = "cpu", batches: tuple[int, ...] = (1, 64), repeats: int = 20) -> ModelRow:
    """Read one model file's recorded test figures (predict.py record_metrics=true) and time it (median of
    `repeats` calls per view set and batch size). The row is named by `model_label`: a run's my_own_model.pkl
    reads `<run>_my_own_model`, never as the shipped file."""
    predictor = EmotionPredictor(path, device=device)
    model = predictor.model
    timings = {}
    for tta in dict.fromkeys((model.preprocessing.tta, "center")):
        timed = EmotionPredictor(path, tta=tta, device=device)
        for batch in batches:
            timings[f"{tta} b{batch}"] = inference_latency(timed, batch, repeats)
    return ModelRow(
        name=model_label(path, PROJECT_ROOT),
        architecture=model.architecture.get("kwargs", {}).get("model_name", model.architecture["name"]),
        accuracy={split: model.metrics.get(key) for split, key in ACCURACY_KEYS.items()},
        parameters=model.num_parameters(),
        file_mb=path.stat().st_size / 2**20,
        ms_per_face=timings,
    )


def markdown_table(rows: list[ModelRow]) -> str:
    """The rows as a Markdown table (accuracy not yet recorded shows as `-`)."""
    timing_columns = list(dict.fromkeys(c for row in rows for c in row.ms_per_face))
    header = ["model", "network", *(f"test {s}" for s in ACCURACY_KEYS), "parameters", "file MB"]
    header += [f"ms/face {c}" for c in timing_columns]
    cells = []
    for row in rows:
        accuracy = [f"{100 * v:.2f}%" if v is not None else "-" for v in row.accuracy.values()]
        timing = [f"{row.ms_per_face[c]:.2f}" if c in row.ms_per_face else "-" for c in timing_columns]
        cells.append(
            [row.name, row.architecture, *accuracy, f"{row.parameters / 1e6:.2f}M", f"{row.file_mb:.1f}", *timing]
        )
    return "\n".join(table_lines(header, cells))
