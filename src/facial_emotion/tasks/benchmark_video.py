"""`python scripts/benchmark_video.py`: frames/s and per-frame latency (decode, detect, track, classify)."""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from omegaconf import DictConfig

from facial_emotion.core.hardware import describe_device
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_pipeline
from facial_emotion.video.frame_source import FrameSource, VideoSourceError
from facial_emotion.video.pipeline import STAGES


def run(cfg: DictConfig) -> None:
    """Run the whole pipeline over `cfg.video` resized to width x height; print frames/s and stage timings."""
    torch.set_num_threads(cfg.threads)
    try:
        source = FrameSource(cfg.video, resize=(cfg.width, cfg.height))
    except VideoSourceError as error:
        sys.exit(f"error: {error}")
    pipeline = build_pipeline(cfg.face_pipeline, EmotionPredictor(cfg.model_path, tta=cfg.tta))
    print(f"Hardware: {describe_device('cpu')}; torch threads {torch.get_num_threads()}")
    print(
        f"{source.description} at {cfg.width}x{cfg.height}, detector every {pipeline.detect_every} frames "
        f"at longer side <= {pipeline.detector.max_side} px"
    )
    timings, faces, start = [], [], None
    for index, result in enumerate(pipeline.run(source)):
        if index == cfg.warmup_frames:
            start = time.perf_counter()
        if index >= cfg.warmup_frames:
            timings.append([result.timings[stage] for stage in STAGES])
            faces.append(len(result.faces))
    if not timings:
        sys.exit(f"error: the video has no more than {cfg.warmup_frames} frames")
    elapsed = time.perf_counter() - start
    milliseconds = np.array(timings) * 1000
    print(f"{len(timings)} frames, {np.mean(faces):.2f} faces/frame: {len(timings) / elapsed:.1f} frames/s")
    for name, column in zip((*STAGES, "total"), (*milliseconds.T, milliseconds.sum(axis=1)), strict=True):
        print(f"  {name:<9} median {np.median(column):6.2f} ms   p95 {np.percentile(column, 95):6.2f} ms")
