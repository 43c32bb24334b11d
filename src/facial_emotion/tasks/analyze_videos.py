"""`scripts/analyze_videos.py`: one video per Hydra run, so multirun launchers fan a batch out; a summary after.

Each run writes `emotions.csv` (`EmotionRecognizer.analyze_video`'s table), `timeline.png` and
`analysis.json` (duration, faces, share of time per emotion, or the error; and `warning`, the line naming the last
frame read of a file cut off part way) into its run folder; `SummaryCallback` joins the runs' `analysis.json` into
`summary.csv` when the (multi)run ends (the warnings stay out of it and are printed again).
"""

from __future__ import annotations

import glob
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from facial_emotion.api import EmotionRecognizer, InputError, plot_timeline
from facial_emotion.api.settings import override_value
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import flag, number
from facial_emotion.core.user_paths import expand_home
from facial_emotion.video.image_files import special_file_kind, walk_files

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
CSV_FILE, TIMELINE_FILE, RECORD_FILE, VIDEO_FILE = "emotions.csv", "timeline.png", "analysis.json", "annotated.mp4"
SUMMARY_FILE = "summary.csv"
INFO_FLAGS = ("-h", "--help", "--hydra-help", "-c", "--cfg", "-i", "--info", "-sc", "--shell")  # need no video


__all__ = ["InputError", "SummaryCallback", "analyze_one_video", "sweep_arguments", "write_summary"]


def _warn_unlistable(error: OSError) -> None:
    print(f"{error.filename}/ : unreadable folder ({error.strerror}); its videos are skipped", file=sys.stderr)


def find_videos(pattern: str) -> list[Path]:
    """Every video file under a folder (recursive, through links to folders; not hidden ones: macOS's `._clip.mp4`
    are not videos; a line on stderr for each folder that cannot be listed and each video name that is no file: a
    named pipe, a broken link), or the files a glob matches; sorted."""
    path = Path(pattern).expanduser()
    if path.is_dir():
        named = [
            p
            for p in walk_files(path, onerror=_warn_unlistable)
            if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")
        ]
        found = [p for p in named if p.is_file()]
        for p in sorted(set(named) - set(found)):  # never opened: a pipe would wait for a writer for ever
            what = special_file_kind(p) or "a link to a file that is gone"
            print(f"{p} : {what}, not a video file; skipped", file=sys.stderr)
    else:
        found = [Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file()]
    if not found:
        raise InputError(f"no video files ({' '.join(VIDEO_SUFFIXES)}) match videos={pattern}")
    return sorted(found)


def sweep_arguments(argv: Sequence[str]) -> list[str]:
    """Command-line arguments with `videos=DIR|GLOB` replaced by `--multirun video=A,B,...` (one run per file).

    With `--help`, `--cfg job`, `--info` (which Hydra answers for one run, not a multirun) it is `video=A`, the
    first file: the config its run would get is shown.
    """
    args = list(argv)
    given = [arg for arg in args[1:] if arg.startswith("videos=")]
    if len(given) > 1:
        raise InputError("give videos= once")
    asking = any(arg.startswith(INFO_FLAGS) for arg in args[1:])
    if not given:
        if not asking and not any(arg.startswith("video=") for arg in args[1:]):
            raise InputError("give video=PATH[,PATH...] (with -m for several) or videos=DIR|GLOB")
        return args
    files = find_videos(given[0].removeprefix("videos="))
    args.remove(given[0])
    if asking:
        return [*args, "video=" + override_value(str(files[0]))]
    if not {"-m", "--multirun"} & set(args):
        args.insert(1, "--multirun")
    return [*args, "video=" + ",".join(override_value(str(file)) for file in files)]


def analyze_one_video(cfg: DictConfig) -> dict[str, Any]:
    """Analyze `cfg.video` into `cfg.output_dir`; bad input is recorded there (and printed), not raised."""
    expand_home(cfg)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    video = str(cfg.video)
    try:
        every, save, progress = number(cfg, "every", minimum=0), flag(cfg, "save_video"), flag(cfg, "progress")
        recognizer = EmotionRecognizer(model_path=cfg.model_path, views=cfg.views, backend=cfg.backend)
        save_video = out / VIDEO_FILE if save else None
        df = recognizer.analyze_video(video, every=every, progress=progress, save_video=save_video)
    except (ValueError, ModelFileError, OSError) as error:  # bad input or options (InputError is a ValueError)
        print(f"error: {error}", file=sys.stderr)
        record = {"video": video, "error": str(error), "warning": None}
    else:
        df.to_csv(out / CSV_FILE, index=False)
        plot_timeline(df, out / TIMELINE_FILE, title=Path(video).name)
        # warning: a file that stopped giving frames well before its stated length; the figures cover the part read
        warning = df.attrs.get("warning")
        record = {"video": video, **video_summary(df, recognizer.class_names), "error": None, "warning": warning}
        print(f"{video}: {len(df)} rows, {record['faces']} face(s) -> {out / CSV_FILE}")
    (out / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def video_summary(df: pd.DataFrame, class_names: Sequence[str]) -> dict[str, Any]:
    """Duration, frames, distinct faces, and the share of the sampled face-time each emotion is on top."""
    shares = df["label"].value_counts(normalize=True) if len(df) else pd.Series(dtype=float)
    return {
        "duration": round(float(df.attrs["duration"]), 3),
        "frames": int(df.attrs["frames"]),
        "faces": int(df["face_id"].nunique()),
        "rows": len(df),
        **{name: round(float(shares.get(name, 0.0)), 4) for name in class_names},
    }


def write_summary(folder: Path) -> pd.DataFrame:
    """Join the `analysis.json` of `folder` and its run subfolders into `folder/summary.csv`; exit 2 on errors.
    A record's `warning` (a file cut off part way) stays out of the CSV and is printed again, with its run folder."""
    records, warnings = [], []
    for path in sorted(folder.glob(f"*/{RECORD_FILE}"), key=_run_order) + sorted(folder.glob(RECORD_FILE)):
        record = json.loads(path.read_text())
        warning = record.pop("warning", None)
        if warning:
            warnings.append(f"warning: {warning} ({path})")
        records.append({**record, "run_dir": str(path.parent)})
    summary = pd.DataFrame(records)
    if len(summary):  # video, figures, emotions, then error and run_dir (a failed run has no figures)
        tail = ["error", "run_dir"]
        summary = summary[[*(c for c in summary.columns if c not in tail), *tail]]
        summary = summary.astype({c: "Int64" for c in ("frames", "faces", "rows") if c in summary.columns})
    summary.to_csv(folder / SUMMARY_FILE, index=False)
    print(f"summary of {len(summary)} video(s): {folder / SUMMARY_FILE}")
    for line in warnings:  # each run printed its own; here they are together, after the batch's progress bars
        print(line, file=sys.stderr)
    failed = summary[summary["error"].notna()] if len(summary) else summary
    if len(failed):
        for row in failed.itertuples():
            print(f"error: {row.video}: {row.error}", file=sys.stderr)
        sys.exit(2)
    return summary


class SummaryCallback(Callback):
    """Writes `summary.csv` when a run or multirun ends (in the launching process, whatever the launcher)."""

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        write_summary(Path(config.hydra.run.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        write_summary(Path(config.hydra.sweep.dir))


def _run_order(path: Path) -> tuple[int, str]:
    name = path.parent.name
    return (int(name), "") if name.isdigit() else (sys.maxsize, name)
