"""results/model/real_faces.md: each evaluated face set's figures beside FER2013's, kept in a JSON beside it.

Every run of evaluate_faces.py with `table=` replaces its own row (model, set, crop mode) in the JSON and
re-writes the markdown from all rows, so the table is always the scripts' output, never typed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from facial_emotion.core.labels import EMOTIONS

TABLE_NOTE = (
    "Written by `scripts/evaluate_faces.py ... table=` (one row per model, set and crop mode). Accuracy is over "
    "all readable images: a photo where no face is found counts as wrong. Recall per class is over all images "
    "of the class; classes a set lacks are blank. ECE: expected calibration error (15 bins) of found faces."
)


def _percent(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{100 * value:.1f}"


def update_table(markdown_path: Path, key: dict[str, str], summary: dict[str, Any]) -> None:
    """Store `summary` under `key` (model, set, crop, views) in the JSON beside the table; rewrite the table."""
    store_path = Path(markdown_path).with_suffix(".json")
    rows = json.loads(store_path.read_text()) if store_path.is_file() else []
    identity = (key["model"], key["set"], key["crop"])
    rows = [row for row in rows if (row["model"], row["set"], row["crop"]) != identity]
    rows.append({**key, **summary})
    rows.sort(key=lambda row: (row["model"], row["set"], row["crop"]))
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store_path.write_text(json.dumps(rows, indent=1) + "\n")
    Path(markdown_path).write_text(render_table(rows))


def render_table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of `rows`, with a FER2013 test row per model when the rows carry one."""
    header = ["model", "set", "crop", "views", "images", "faces found %", "accuracy %", "found faces %", "ECE %"]
    header += [f"{name} %" for name in EMOTIONS]
    lines = ["# Real faces", "", TABLE_NOTE, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    models_done: set[str] = set()
    for row in rows:
        if row["model"] not in models_done and row.get("fer2013"):
            models_done.add(row["model"])
            fer = row["fer2013"]
            cells = [row["model"], "FER2013 test", "dataset", fer.get("views", ""), fer.get("images", "")]
            cells += ["", _percent(fer.get("accuracy")), "", _percent(fer.get("ece"))]
            cells += [_percent(fer.get(f"recall_{name}")) for name in EMOTIONS]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        cells = [row["model"], row["set"], row["crop"], row["views"], row["images"]]
        cells += [_percent(row["faces_found"]), _percent(row["accuracy"]), _percent(row["found_accuracy"])]
        cells += [_percent(row["ece"]), *(_percent(r) for r in row["recall"])]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
