"""What scripts/benchmark.py does: CSV parse, training images/s per precision, inference per backend/threads/batch."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from facial_emotion.core.hardware import cpu_has_native_bf16, cpu_kind, describe_device, emulating_avx2
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import OptionError, flag, number, path_option, prepare_output_file
from facial_emotion.core.preprocessing import LIVE_VIEW, TTA_MODES
from facial_emotion.core.user_paths import expand_home
from facial_emotion.data.locate import PROJECT_ROOT, find_csv
from facial_emotion.evaluation.benchmarking import time_csv_parse, training_throughput
from facial_emotion.evaluation.speed import TABLE_HEADER, measure, write_speed_table
from facial_emotion.inference.backends import BACKENDS
from facial_emotion.inference.predictor import checked_device
from facial_emotion.models.loading import model_path_option

MODEL_CONFIGS = PROJECT_ROOT / "configs" / "model"


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


def whole_numbers(cfg: DictConfig, key: str) -> list[int]:
    """`cfg[key]` as a non-empty list of whole numbers >= 1 (`threads=[0]` and `batches=[a]` were tracebacks)."""
    value = cfg.get(key)
    items = list(value) if OmegaConf.is_list(value) else [value]
    if not items or not all(isinstance(item, int) and not isinstance(item, bool) and item >= 1 for item in items):
        shown = OmegaConf.to_container(value) if OmegaConf.is_list(value) else value
        raise OptionError(f"{key} must be a list of whole numbers >= 1, e.g. {key}=[1,2], got {shown!r}")
    return items


def read_options(cfg: DictConfig) -> None:
    """Read every option before any timing, in place; `OptionError` (or ValueError) naming the first bad one. A
    yes/no given as text (`train=no`) was taken for yes, `steps=0` printed 0 images/s, a model config that does not
    exist and an unwritable speed table were tracebacks (the latter after the measuring)."""
    cfg.parse, cfg.train = flag(cfg, "parse"), flag(cfg, "train")
    checked_device(cfg.device)
    if cfg.train:
        cfg.batch_size = number(cfg, "batch_size", minimum=1, integer=True)
        cfg.steps = number(cfg, "steps", minimum=1, integer=True)
        names = list(cfg.models) if OmegaConf.is_list(cfg.models) else [cfg.models]
        known = sorted(path.stem for path in MODEL_CONFIGS.glob("*.yaml"))
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise OptionError(f"models: {unknown or names} not among the model configs ({', '.join(known)})")
        cfg.models = names
    if cfg.model_path is None or cfg.model_path == "":
        return
    cfg.model_path = str(model_path_option(cfg.model_path))
    cfg.threads, cfg.batches = whole_numbers(cfg, "threads"), whole_numbers(cfg, "batches")
    backends = list(cfg.backends) if OmegaConf.is_list(cfg.backends) else [cfg.backends]
    if not backends or any(backend not in BACKENDS for backend in backends):
        raise OptionError(f"backends must be a list of {', '.join(BACKENDS)}, got {backends!r}")
    cfg.backends = backends
    if cfg.tta not in (*TTA_MODES, LIVE_VIEW):
        raise OptionError(f"tta must be one of {', '.join((*TTA_MODES, LIVE_VIEW))}, got {cfg.tta!r}")
    table = path_option(cfg.speed_table)
    if table is not None:
        prepare_output_file(table, f"speed_table={cfg.speed_table}")


def run(cfg: DictConfig) -> int:
    """Every section `cfg` asks for; the process exit code."""
    expand_home(cfg)
    try:
        read_options(cfg)
    except (ValueError, OSError) as error:  # OptionError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    csv = find_csv(cfg.paths.data_dir, "train.csv")
    try:
        print(f"Hardware: {describe_device(cfg.device)}; torch {torch.__version__}")
        if cfg.parse and csv is not None:
            cold, cached = time_csv_parse(csv)
            print(f"CSV parse {csv.name}: cold {cold:.2f} s, cached {cached:.3f} s")
        if cfg.train:
            benchmark_training(cfg)
        if cfg.model_path:
            benchmark_inference(cfg)
    except (ModelFileError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the speed table is written after the last measurement
        print("Stopped before the measurements ended: the speed table was not written", file=sys.stderr)
        return 130
    return 0
