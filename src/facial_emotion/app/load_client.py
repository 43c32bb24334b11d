"""WebSocket clients that play a real video into the app's live socket and time every answer (benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import uvicorn
import websockets
from fastapi import FastAPI

from facial_emotion.app.live import HEADER


@dataclass
class ClientStats:
    """What one client measured: (send time, round trip s) per answered frame, frames offered, errors."""

    round_trips: list[tuple[float, float]] = field(default_factory=list)
    offered: int = 0
    errors: list[str] = field(default_factory=list)

    def fps(self, seconds: float) -> float:
        return len(self.round_trips) / seconds if seconds > 0 else 0.0


def encode_frames(video: str, width: int, height: int, quality: int, limit: int = 300) -> list[bytes]:
    """Up to `limit` frames of `video`, resized and JPEG-encoded once (the clients replay them in a loop)."""
    capture = cv2.VideoCapture(video)
    frames = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        resized = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        frames.append(cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
    capture.release()
    if not frames:
        raise ValueError(f"{video}: no frames could be decoded")
    return frames


async def run_client(url: str, frames: list[bytes], fps: float, seconds: float) -> ClientStats:
    """Offer a frame every 1/fps s for `seconds`; one in flight at a time (a newer frame replaces an unsent one)."""
    stats = ClientStats()
    async with websockets.connect(url, max_size=2**22) as connection:
        start = time.perf_counter()
        seq = 0
        while (now := time.perf_counter()) - start < seconds:
            seq += 1
            stats.offered += 1
            await connection.send(HEADER.pack(seq) + frames[seq % len(frames)])
            answer = json.loads(await connection.recv())
            done = time.perf_counter()
            if answer.get("error"):
                stats.errors.append(answer["error"])
            else:
                stats.round_trips.append((now - start, done - now))
            # The camera's next frame comes at the next tick; frames that came while waiting are dropped.
            next_tick = start + np.ceil((done - start) * fps) / fps
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
    return stats


async def run_clients(url: str, frames: list[bytes], clients: int, fps: float, seconds: float) -> list[ClientStats]:
    return list(await asyncio.gather(*(run_client(url, frames, fps, seconds) for _ in range(clients))))


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Run `app` with uvicorn on a loopback port in a thread; yields its base URL (http://127.0.0.1:PORT)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=2**22))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
