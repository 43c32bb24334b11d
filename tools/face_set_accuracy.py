"""Accuracy of a labelled photo set from the CSV `scripts/predict_image.py path=SET log=CSV` wrote.

`python tools/face_set_accuracy.py /tmp/nimstim.csv [/tmp/penn_er40.csv ...]`. The label of a photo is its first
folder under the set (`Happy/x.png`); a photo with several faces counts its largest one; a photo where no face
was found counts as wrong. Prints images, faces found, accuracy over all images and over the found faces, and
per class. A dev helper until the evaluation script of the real-faces work lands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def photo_predictions(log: pd.DataFrame) -> pd.DataFrame:
    """One row per photo: its label (folder), whether a face was found, and the largest face's emotion."""
    log = log.assign(label=log["file"].map(lambda name: Path(name).parts[0]), area=log["w"] * log["h"])
    found = log.dropna(subset=["face"]).sort_values("area", ascending=False).drop_duplicates("file")
    photos = log.drop_duplicates("file")[["file", "label"]].merge(found[["file", "emotion"]], on="file", how="left")
    return photos.assign(found=photos["emotion"].notna(), correct=photos["emotion"] == photos["label"])


def summary(photos: pd.DataFrame) -> str:
    """Lines: overall figures, then per class accuracy over all of its photos (faces found in brackets)."""
    lines = [
        f"images {len(photos)}, faces found {photos['found'].sum()} ({100 * photos['found'].mean():.1f}%), "
        f"accuracy {100 * photos['correct'].mean():.1f}% of all images, "
        f"{100 * photos.loc[photos['found'], 'correct'].mean():.1f}% of the found faces"
    ]
    for label, group in photos.groupby("label"):
        lines.append(
            f"  {label:<9} {100 * group['correct'].mean():5.1f}%  ({len(group)} images, {group['found'].sum()} found)"
        )
    return "\n".join(lines)


def fail(message: str) -> None:
    """Print `error: message` and exit 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path, help="CSV files written by predict_image.py log=...")
    for path in parser.parse_args().logs:
        try:
            log = pd.read_csv(path)
        except (OSError, pd.errors.ParserError) as error:
            fail(f"{path}: {error}")
        missing = {"file", "face", "w", "h", "emotion"} - set(log.columns)
        if missing:
            fail(f"{path}: not a predict_image.py log (no column {', '.join(sorted(missing))})")
        print(f"{path}: {summary(photo_predictions(log))}")


if __name__ == "__main__":
    main()
