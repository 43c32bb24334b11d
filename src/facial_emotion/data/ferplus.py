"""FER+ annotator votes (Microsoft's re-labelling of FER2013) as soft training targets.

`fer2013new.csv` has one line per fer2013.csv row, in the same order: the 28709 `Training` lines are the
rows of train.csv. Its vote columns come in FER+'s own order (neutral, happiness, surprise, sadness, anger,
disgust, fear, contempt, unknown, NF); only the seven FER2013 classes are kept, so contempt, unknown and
"not a face" votes are dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from facial_emotion.core.labels import EMOTIONS, NUM_CLASSES
from facial_emotion.data.fer_csv import FERDataError

# FER+ vote column -> FER2013 class name.
_FERPLUS_COLUMNS = {
    "anger": "Angry",
    "disgust": "Disgust",
    "fear": "Fear",
    "happiness": "Happy",
    "sadness": "Sad",
    "surprise": "Surprise",
    "neutral": "Neutral",
}


def load_ferplus_votes(path: Path | str, usage: str = "Training") -> np.ndarray:
    """(rows, 7) vote counts in FER2013's class order for the `usage` rows of `path`, in file order."""
    path = Path(path)
    if not path.is_file():
        raise FERDataError(f"{path}: FER+ votes file not found")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise FERDataError(f"{path}: not a readable CSV ({error})") from None
    missing = [c for c in ["Usage", *_FERPLUS_COLUMNS] if c not in table.columns]
    if missing:
        raise FERDataError(f"{path}: missing FER+ columns {missing}")
    rows = table[table["Usage"] == usage]
    by_class = {name: column for column, name in _FERPLUS_COLUMNS.items()}
    votes = rows[[by_class[name] for name in EMOTIONS]].to_numpy(dtype=np.float32)
    if (votes < 0).any():
        raise FERDataError(f"{path}: negative vote counts")
    return votes


def soft_targets(labels: np.ndarray, votes: np.ndarray, weight: float) -> np.ndarray:
    """(N, 7) targets: `(1 - weight) * one_hot(label) + weight * vote distribution`.

    Rows without a single vote for the seven classes (FER+ judged them not a face or unknown) keep their
    FER2013 label alone.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"FER+ weight must lie in [0, 1], got {weight}")
    if len(votes) != len(labels):
        raise FERDataError(f"FER+ has {len(votes)} rows for {len(labels)} FER2013 rows: the files do not match")
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    totals = votes.sum(axis=1, keepdims=True)
    distribution = np.where(totals > 0, votes / np.maximum(totals, 1.0), one_hot)
    return ((1.0 - weight) * one_hot + weight * distribution).astype(np.float32)
