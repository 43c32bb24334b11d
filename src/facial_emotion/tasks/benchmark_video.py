"""What scripts/benchmark_video.py does: frames/s and per-frame latency of the whole video pipeline."""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from omegaconf import DictConfig

from facial_emotion.core.hardware import cpu_kind, cpu_name
from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.options import number
from facial_emotion.core.user_paths import expand_home
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.video.build import build_pipeline
from facial_emotion.video.frame_source import FrameSource, VideoSourceError
from facial_emotion.video.pipeline import STAGES
from facial_emotion.video.pipeline_options import check_pipeline_options
from facial_emotion.video.tiled_source import TiledFrameSource


def open_source(cfg: DictConfig) -> FrameSource | TiledFrameSource:
    """`cfg.video` resized to width x height, or with `cfg.side_by_side` clips, all of them tiled into that size."""
    if cfg.get("side_by_side"):
        return TiledFrameSource([cfg.video, *cfg.side_by_side], cfg.width, cfg.height)
    return FrameSource(cfg.video, resize=(cfg.width, cfg.height))


def run(cfg: DictConfig) -> int:
    """Run the pipeline over the clip(s), print the figures; return the exit code."""
    expand_home(cfg)
    try:
        for key in ("width", "height", "threads"):
            number(cfg, key, minimum=1, integer=True)
        warmup_frames = number(cfg, "warmup_frames", minimum=0, integer=True)
        check_pipeline_options(cfg.face_pipeline)
        max_frames = number(cfg, "max_frames", above=warmup_frames, integer=True)  # null: the whole clip
        torch.set_num_threads(int(cfg.threads))
        source = open_source(cfg)
        predictor = EmotionPredictor(cfg.model_path, tta=cfg.tta, backend=cfg.backend)
    except (VideoSourceError, ModelFileError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    pipeline = build_pipeline(cfg.face_pipeline, predictor)
    mode = "on its own thread" if cfg.face_pipeline.get("async_detection") else "inline"
    print(f"CPU {cpu_name()} ({cpu_kind()}); threads {torch.get_num_threads()}")
    print(f"classifier: backend {predictor.backend}, precision {predictor.precision}, views {predictor.tta}")
    print(
        f"{source.description} at {cfg.width}x{cfg.height}; detector {mode}, at most every "
        f"{pipeline.detect_every} frames, longer side <= {pipeline.detector.max_side} px"
    )
    stages, totals, faces, overlapped, detections = [], [], [], 0, 0
    start = clock = None
    try:
        for index, result in enumerate(pipeline.run(source)):
            if max_frames is not None and index >= max_frames:
                break
            now = time.perf_counter()
            if index == warmup_frames:
                start = clock = now
                continue
            if index > warmup_frames:
                totals.append(now - clock)
                clock = now
                stages.append([result.timings[stage] for stage in STAGES])
                faces.append(len(result.faces))
                overlapped += result.detection_running
                detections += result.detected
    finally:
        pipeline.close()
    if not totals:
        print(f"error: the video has no more than {warmup_frames + 1} frames", file=sys.stderr)
        return 2
    print_figures(np.array(stages) * 1000, np.array(totals) * 1000, faces, overlapped, detections, clock - start)
    return 0


def print_figures(
    stages: np.ndarray, totals: np.ndarray, faces: list[int], overlapped: int, detections: int, seconds: float
) -> None:
    """frames/s, faces per frame, detection overlap, and per-stage / per-frame median and p95 in ms."""
    frames = len(totals)
    print(f"{frames} frames, {np.mean(faces):.2f} faces/frame: {frames / seconds:.1f} frames/s")
    print(
        f"detections applied on {detections} frames; a detection was running during "
        f"{overlapped} of {frames} frames ({100 * overlapped / frames:.0f}%)"
    )
    for name, column in zip(STAGES, stages.T, strict=True):
        print(f"  {name:<9} median {np.median(column):6.2f} ms   p95 {np.percentile(column, 95):6.2f} ms")
    print(f"  {'frame':<9} median {np.median(totals):6.2f} ms   p95 {np.percentile(totals, 95):6.2f} ms (wall)")
