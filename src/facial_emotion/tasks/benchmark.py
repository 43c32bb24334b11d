"""`python scripts/benchmark.py`: CSV parse (cold/cached), training images/s per precision, inference ms/face."""

from __future__ import annotations

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from facial_emotion.core.hardware import cpu_has_native_bf16, describe_device
from facial_emotion.data.locate import find_csv
from facial_emotion.evaluation.benchmarking import inference_latency, time_csv_parse, training_throughput
from facial_emotion.inference.predictor import EmotionPredictor


def run(cfg: DictConfig) -> None:
    """Print every figure beside the hardware it was measured on."""
    print(f"Hardware: {describe_device(cfg.device)}; torch {torch.__version__}")
    csv = find_csv(cfg.paths.data_dir, "train.csv")
    if cfg.parse and csv is not None:
        cold, cached = time_csv_parse(csv)
        print(f"CSV parse {csv.name}: cold {cold:.2f} s, cached {cached:.3f} s")
    precisions = ["32-true", "32-true+channels_last", "bf16-mixed+channels_last"]
    emulated_bf16 = cfg.device == "cpu" and not cpu_has_native_bf16()
    if emulated_bf16:
        print("(bf16 is emulated on this CPU: measuring it with 3 steps only; never train with it here)")
    for name in cfg.models:
        net_cfg = hydra.compose(config_name="train", overrides=[f"model={name}"]).model.net
        for precision in precisions:
            steps = 3 if precision.startswith("bf16") and emulated_bf16 else cfg.steps
            ips = training_throughput(instantiate(net_cfg), precision, cfg.device, cfg.batch_size, steps=steps)
            print(f"train {name:<10} {precision:<26} batch {cfg.batch_size}: {ips:8.0f} images/s")
    if cfg.model_path:
        for tta in ("center", None):
            predictor = EmotionPredictor(cfg.model_path, tta=tta, device=cfg.device)
            for batch in (1, 64):
                ms = inference_latency(predictor, batch)
                print(f"inference {predictor.tta:<20} batch {batch:>2}: {ms:7.3f} ms/face ({1000 / ms:8.0f} faces/s)")
