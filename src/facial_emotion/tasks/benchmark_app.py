"""`python scripts/benchmark_app.py [clients=1] [fps=15] [seconds=20]`: round trip and fps of the app's live socket."""

from __future__ import annotations

import asyncio
import contextlib
import re

import numpy as np
import torch
from omegaconf import DictConfig
from websockets.exceptions import WebSocketException

from facial_emotion.app.load_client import encode_frames, run_clients, serving
from facial_emotion.core.hardware import describe_device
from facial_emotion.core.options import OptionError, exit_with_error, number
from facial_emotion.core.user_paths import expand_home
from facial_emotion.tasks.serve import build_app


def run(cfg: DictConfig) -> None:
    """Serve (unless `url` is given), drive `clients` WebSockets for `seconds`, print the figures."""
    expand_home(cfg)
    try:
        read_numbers(cfg)
        frames = encode_frames(str(cfg.video), cfg.width, cfg.height, cfg.jpeg_quality)
    except ValueError as error:  # OptionError is one
        exit_with_error(str(error))
    print(f"Hardware: {describe_device('cpu')}; torch threads {torch.get_num_threads()}")
    print(f"{cfg.clients} client(s) x {cfg.seconds} s, {cfg.width}x{cfg.height} JPEG frames offered at {cfg.fps} fps")
    server = contextlib.nullcontext(str(cfg.url)) if cfg.url else serving(build_app(cfg))
    with server as base:
        url = live_socket_url(base)
        try:
            stats = asyncio.run(run_clients(url, frames, cfg.clients, cfg.fps, cfg.seconds))
        except (OSError, WebSocketException) as error:  # refused, no such host, not the app's socket
            exit_with_error(f"{url}: cannot connect ({error})")
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


def read_numbers(cfg: DictConfig) -> None:
    """The numeric options read strictly and put back as numbers; an OptionError naming the first bad one."""
    for key in ("clients", "width", "height"):
        cfg[key] = _given(number(cfg, key, minimum=1, integer=True), key)
    for key in ("fps", "seconds"):
        cfg[key] = _given(number(cfg, key, above=0), key)
    cfg.jpeg_quality = _given(number(cfg, "jpeg_quality", minimum=0, integer=True), "jpeg_quality")
    if cfg.jpeg_quality > 100:
        raise OptionError(f"jpeg_quality must be a whole number from 0 to 100, got {cfg.jpeg_quality}")


def _given(value: float | None, key: str) -> float:
    if value is None:
        raise OptionError(f"{key} needs a value (not null)")
    return value


def live_socket_url(base: str) -> str:
    """The live WebSocket's URL from the app's address (http://host:port), or the socket's own (ws://.../ws/live)."""
    url = re.sub(r"^http", "ws", base.strip().rstrip("/"))
    return url if url.endswith("/ws/live") else f"{url}/ws/live"
