"""What scripts/benchmark.py does: CSV parse, training images/s per precision, inference per backend/threads/batch."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from facial_emotion.core.hardware import cpu_has_native_bf16, cpu_kind, describe_device, emulating_avx2
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.locate import find_csv
from facial_emotion.evaluation.benchmarking import time_csv_parse, training_throughput
from facial_emotion.evaluation.speed import TABLE_HEADER, measure, write_speed_table


def benchmark_training(cfg: DictConfig) -> None:
    """Training images/s of each model in `cfg.models` at fp32, fp32 channels_last and bf16."""
    precisions = ["32-true", "32-true+channels_last", "bf16-mixed+channels_last"]
    emulated = cfg.device == "cpu" and not cpu_has_native_bf16()
    if emulated:
        print("(bf16 is emulated on this CPU: measuring it with 3 steps only; never train with it here)")
    for name in cfg.models:
        net_cfg = hydra.compose(config_name="train", overrides=[f"model={name}"]).model.net
        for precision in precisions:
            steps = 3 if precision.startswith("bf16") and emulated else cfg.steps
            ips = training_throughput(instantiate(net_cfg), precision, cfg.device, cfg.batch_size, steps=steps)
            print(f"train {name:<10} {precision:<26} batch {cfg.batch_size}: {ips:8.0f} images/s")


def benchmark_inference(cfg: DictConfig) -> None:
    """ms/face and faces/s per backend x threads x batch; writes this CPU kind's section of the speed table."""
    configurations = []  # (backend, bf16): torch also in bf16 where it is native (emulated it is ~12x slower)
    for backend in cfg.backends:
        native_bf16 = backend == "torch" and cpu_has_native_bf16() and not emulating_avx2()
        configurations += [(backend, False)] + ([(backend, True)] if native_bf16 else [])
    print(f"Inference ({cpu_kind()}), views {cfg.tta}:\n{TABLE_HEADER}")
    rows = measure(Path(cfg.model_path), configurations, list(cfg.threads), list(cfg.batches), cfg.tta)
    if cfg.speed_table:
        write_speed_table(Path(cfg.speed_table), rows, Path(cfg.model_path).name)
        print(f"Wrote this CPU kind's section of {cfg.speed_table}")


def run(cfg: DictConfig) -> int:
    """Every section `cfg` asks for; the process exit code."""
    expand_home(cfg)
    print(f"Hardware: {describe_device(cfg.device)}; torch {torch.__version__}")
    csv = find_csv(cfg.paths.data_dir, "train.csv")
    if cfg.parse and csv is not None:
        cold, cached = time_csv_parse(csv)
        print(f"CSV parse {csv.name}: cold {cold:.2f} s, cached {cached:.3f} s")
    if cfg.train:
        benchmark_training(cfg)
    if cfg.model_path:
        try:
            benchmark_inference(cfg)
        except (ModelFileError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0
