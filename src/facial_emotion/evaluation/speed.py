"""Inference speed per backend, precision, threads and batch; the speed table per CPU kind (results/model/speed.md).

Each CPU kind (AMX, AVX512-BF16, AVX2, or AVX2 emulated with ONEDNN_MAX_CPU_ISA) has its own section of the
table; a run rewrites only the section of the CPU it ran on, so figures from several machines sit side by side.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facial_emotion.core.hardware import cpu_kind, cpu_name
from facial_emotion.evaluation.benchmarking import inference_latency
from facial_emotion.inference.predictor import EmotionPredictor

# fer (pip package, tflite classifier) measured on a 2-core AVX2 AMD EPYC, batch 256 (issue "Speed I").
FER_REFERENCE = "`fer` package's classifier (tflite), batch 256, 2-core AVX2 AMD EPYC: 1032 faces/s (cited, not re-run)"


@dataclass(frozen=True)
class SpeedRow:
    """One measurement: what ran, on how many threads, at which batch, and how fast."""

    backend: str
    precision: str
    views: str
    threads: int
    batch: int
    ms_per_face: float

    @property
    def faces_per_second(self) -> float:
        return 1000.0 / self.ms_per_face

    def line(self) -> str:
        return (
            f"| {self.backend} | {self.precision} | {self.views} | {self.threads} | {self.batch} | "
            f"{self.ms_per_face:.2f} | {self.faces_per_second:.0f} |"
        )


TABLE_HEADER = "| backend | precision | views | threads | batch | ms/face | faces/s |\n|---|---|---|---|---|---|---|"


def latency(predictor: EmotionPredictor, batch: int, seconds: float = 2.0) -> float:
    """Median ms per face at `batch`, repeated to fill about `seconds` (3..50 repeats)."""
    faces = np.random.default_rng(0).integers(0, 256, (batch, 48, 48), dtype=np.uint8)
    start = time.perf_counter()
    predictor.predict_proba(faces)
    repeats = int(np.clip(seconds / max(time.perf_counter() - start, 1e-4), 3, 50))
    return inference_latency(predictor, batch, repeats=repeats)


def measure(
    model_path: Path, configurations: list[tuple[str, bool]], threads: list[int], batches: list[int], tta: str
) -> list[SpeedRow]:
    """One row per (backend, bf16) configuration x threads x batch; prints each as it is measured."""
    rows = []
    for count in threads:
        torch.set_num_threads(count)
        for backend, bf16 in configurations:
            predictor = EmotionPredictor(model_path, tta=tta, backend=backend, bf16=bf16, batch_size=max(batches))
            for batch in batches:
                row = SpeedRow(predictor.backend, predictor.precision, tta, count, batch, latency(predictor, batch))
                print(row.line(), flush=True)
                rows.append(row)
    return rows


def write_speed_table(path: Path, rows: list[SpeedRow], model_name: str) -> None:
    """Replace this CPU's section of the speed table at `path` (keeping the other CPUs').

    Sections are keyed by CPU name and kind: two CPUs of one kind can differ (PyTorch bf16 is ~2x faster than
    fp32 on an AMD EPYC with AVX512-BF16 and many times slower on an Intel Xeon with the same flag).
    """
    title = f"## {cpu_name()}, {cpu_kind()}"
    load = os.getloadavg()[0]
    busy = max(row.threads for row in rows) + 0.5 if rows else 0.5
    quiet = "other work shared the cores: figures are pessimistic" if load > busy else "no other work on the cores"
    section = "\n".join(
        [
            title,
            "",
            f"CPU: {cpu_name()}; model {model_name}; torch {torch.__version__}; written by scripts/benchmark.py "
            f"on {time.strftime('%Y-%m-%d')}; load average {load:.1f} on {os.cpu_count()} CPUs at the end "
            f"({quiet}).",
            "",
            TABLE_HEADER,
            *(row.line() for row in rows),
            "",
            f"Reference: {FER_REFERENCE}.",
            "",
        ]
    )
    existing = path.read_text() if path.is_file() else "# Inference speed per CPU kind\n\n"
    sections = [part.rstrip("\n") + "\n\n" for part in re.split(r"(?m)^(?=## )", existing)]
    mine = [i for i, part in enumerate(sections) if part.startswith(title + "\n")]
    if mine:  # in its place, so that a re-measured CPU does not move to the end
        sections[mine[0]] = section + "\n"
        sections = [part for i, part in enumerate(sections) if i not in mine[1:]]
    else:
        sections.append(section + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(sections).rstrip("\n") + "\n")
