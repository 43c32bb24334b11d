"""The live webcam over a WebSocket: frames in, faces out; the newest frame wins so latency never builds up.

A client message is binary: a 4-byte big-endian frame number, then a JPEG (or PNG). The answer is JSON:
`{"seq": n, "faces": [{"id", "box": [x, y, w, h], "label", "probability", "probabilities": {...}}], "ms": ...}`,
or `{"seq": n, "error": "..."}` for a message that cannot be used (the socket stays open).
"""

from __future__ import annotations

import asyncio
import struct
import time
from concurrent.futures import Executor
from typing import Any

import cv2
import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from facial_emotion.api import InputError
from facial_emotion.api.images import encoded_image_size
from facial_emotion.app.settings import AppSettings
from facial_emotion.video.pipeline import EmotionPipeline

HEADER = struct.Struct(">I")


class FrameError(ValueError):
    """A message that is not a usable frame."""


def decode_frame(message: bytes, settings: AppSettings) -> tuple[int, np.ndarray]:
    """(frame number, BGR image) of a client message; `FrameError` saying what is wrong otherwise."""
    if len(message) <= HEADER.size:
        raise FrameError("a frame message is a 4-byte frame number followed by a JPEG")
    if len(message) > settings.max_frame_bytes + HEADER.size:
        raise FrameError(f"frame of {len(message) // 1024} KB is over the {settings.max_frame_kb:g} KB limit")
    (seq,) = HEADER.unpack_from(message)
    encoded = message[HEADER.size :]
    try:  # the size from the header first: a small file can hold a huge blank image
        size = encoded_image_size(encoded, f"frame {seq}")
    except InputError as error:
        raise FrameError(str(error)) from None
    if size is not None and max(size) > settings.max_frame_side:
        raise FrameError(f"frame {seq}: {size[0]}x{size[1]} is over {settings.max_frame_side} px")
    image = cv2.imdecode(np.frombuffer(encoded, dtype=np.uint8), cv2.IMREAD_COLOR) if size is not None else None
    if image is None:
        raise FrameError(f"frame {seq}: not a JPEG or PNG image")
    return seq, image


def faces_json(pipeline: EmotionPipeline, image: np.ndarray, timestamp: float) -> list[dict[str, Any]]:
    """Track and classify one frame; each face as plain JSON data."""
    names = pipeline.predictor.class_names
    faces = []
    for face in pipeline.process(image, timestamp).faces:
        x1, y1, x2, y2 = (float(v) for v in face.box)
        faces.append(
            {
                "id": face.track_id,
                "box": [x1, y1, x2 - x1, y2 - y1],
                "label": face.label,
                "probability": face.probability,
                "probabilities": {n: float(p) for n, p in zip(names, face.probabilities, strict=True)},
            }
        )
    return faces


async def serve_live(socket: WebSocket, pipeline: EmotionPipeline, executor: Executor, settings: AppSettings) -> None:
    """Receive frames and answer each processed one until the client leaves.

    A reader keeps only the newest frame; the worker processes it when the previous one is done, so a slow
    CPU drops frames instead of queueing them. Frames are processed in memory and never written anywhere.
    """
    await socket.accept()
    newest: dict[str, Any] = {}
    ready = asyncio.Event()
    start = time.monotonic()

    async def read() -> None:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            data = message.get("bytes")
            if data is None:
                await socket.send_json({"seq": None, "error": "send frames as binary messages (frame number + JPEG)"})
                continue
            newest["message"] = data
            ready.set()

    async def work() -> None:
        loop = asyncio.get_running_loop()
        while True:
            await ready.wait()
            ready.clear()
            data = newest.pop("message")
            clock = time.perf_counter()
            try:
                seq, image = decode_frame(data, settings)
            except FrameError as error:
                await socket.send_json({"seq": None, "error": str(error)})
                continue
            faces = await loop.run_in_executor(executor, faces_json, pipeline, image, time.monotonic() - start)
            ms = 1000 * (time.perf_counter() - clock)
            await socket.send_json({"seq": seq, "faces": faces, "ms": round(ms, 2)})

    tasks = [asyncio.create_task(read()), asyncio.create_task(work())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect | RuntimeError):
                raise error
    finally:
        for task in tasks:
            task.cancel()
