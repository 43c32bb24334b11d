"""`python scripts/benchmark_app.py [clients=1] [fps=15] [seconds=20]`: round trip and fps of the app's live socket."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import torch
from omegaconf import DictConfig

from facial_emotion.app.load_client import encode_frames, run_clients, serving
from facial_emotion.core.hardware import describe_device
from facial_emotion.core.options import exit_with_error
from facial_emotion.core.user_paths import expand_home
from facial_emotion.tasks.serve import build_app


def run(cfg: DictConfig) -> None:
    """Serve (unless `url` is given), drive `clients` WebSockets for `seconds`, print the figures."""
    expand_home(cfg)
    try:
        frames = encode_frames(str(cfg.video), cfg.width, cfg.height, cfg.jpeg_quality)
    except ValueError as error:
        exit_with_error(str(error))
    print(f"Hardware: {describe_device('cpu')}; torch threads {torch.get_num_threads()}")
    print(f"{cfg.clients} client(s) x {cfg.seconds} s, {cfg.width}x{cfg.height} JPEG frames offered at {cfg.fps} fps")
    server = contextlib.nullcontext(str(cfg.url)) if cfg.url else serving(build_app(cfg))
    with server as base:
        url = base.replace("http", "ws", 1).rstrip("/") + "/ws/live"
        stats = asyncio.run(run_clients(url, frames, cfg.clients, cfg.fps, cfg.seconds))
    trips = np.array([rtt for s in stats for _, rtt in s.round_trips]) * 1000
    errors = sum(len(s.errors) for s in stats)
    if not len(trips):
        exit_with_error(f"no frame was answered ({errors} errors)")
    print(f"round trip: p50 {np.percentile(trips, 50):.1f} ms, p95 {np.percentile(trips, 95):.1f} ms; errors {errors}")
    per_client = [s.fps(cfg.seconds) for s in stats]
    print(f"frames/s per client: min {min(per_client):.1f}, mean {np.mean(per_client):.1f}")
    window = min(10.0, cfg.seconds / 3)
    first = [rtt for s in stats for t, rtt in s.round_trips if t < window]
    last = [rtt for s in stats for t, rtt in s.round_trips if t >= cfg.seconds - window]
    if first and last:
        ratio = np.percentile(last, 95) / np.percentile(first, 95)
        print(f"p95 round trip, last {window:g} s / first {window:g} s: {ratio:.2f}")
