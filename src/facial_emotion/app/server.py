"""`create_app(settings, recognizer)`: the FastAPI app; routes are thin, the work is in the API and the pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from fastapi import FastAPI, HTTPException, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from facial_emotion.api import EmotionRecognizer, InputError
from facial_emotion.api.video_analysis import open_video
from facial_emotion.app.live import serve_live
from facial_emotion.app.sessions import SESSION_COOKIE, Session, SessionStore
from facial_emotion.app.settings import AppSettings
from facial_emotion.app.video_jobs import VideoJobs

STATIC_DIR = Path(__file__).parent / "static"
_SAFE_NAME = re.compile(r"[^\w.\- ]+")


def create_app(settings: AppSettings, recognizer: EmotionRecognizer) -> FastAPI:
    """One page and its assets, the live WebSocket, photo and video uploads; limits from `settings`."""
    store = SessionStore(settings.work_dir, ttl_seconds=60 * settings.session_minutes)
    jobs = VideoJobs(recognizer, settings.every)
    inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")  # 2 cores: one model call at a time

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_expire_sessions(store, jobs))
        yield
        sweeper.cancel()
        jobs.close()
        inference.shutdown(wait=False, cancel_futures=True)
        store.close()

    app = FastAPI(title="Facial emotion", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.settings, app.state.store, app.state.jobs = settings, store, jobs

    def session_of(request: Request, response: Response) -> Session:
        session = store.get_or_create(request.cookies.get(SESSION_COOKIE))
        response.set_cookie(SESSION_COOKIE, session.session_id, httponly=True, samesite="strict")
        return session

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/api/info")
    async def info() -> dict:
        return {
            "classes": recognizer.class_names,
            "max_upload_mb": settings.max_upload_mb,
            "max_video_minutes": settings.max_video_minutes,
            "max_frame_kb": settings.max_frame_kb,
        }

    @app.websocket("/ws/live")
    async def live(socket: WebSocket) -> None:
        await serve_live(socket, recognizer.stream(), inference, settings)

    @app.post("/api/photos")
    async def photo(request: Request, response: Response, name: str = "photo", whole_image: bool = False) -> dict:
        session_of(request, response)
        body = await read_body(request, settings.max_upload_bytes, name)
        image = cv2.imdecode(np.frombuffer(body, dtype=np.uint8), cv2.IMREAD_COLOR) if body else None
        if image is None:
            raise HTTPException(415, f"{display_name(name)}: not an image (JPEG, PNG, BMP, TIFF or WebP)")
        if max(image.shape[:2]) > 4 * settings.max_frame_side:
            raise HTTPException(413, f"{display_name(name)}: {image.shape[1]}x{image.shape[0]} pixels is too large")
        # whole_image: a photo without a detected face is classified whole and flagged (`analyze`'s fallback).
        analyze = functools.partial(recognizer.analyze, image, whole_image_if_no_face=whole_image)
        faces = await asyncio.get_running_loop().run_in_executor(inference, analyze)
        return {
            "name": display_name(name),
            "width": image.shape[1],
            "height": image.shape[0],
            "faces": [face.to_dict() for face in faces],
        }

    @app.post("/api/videos")
    async def upload_video(request: Request, response: Response, name: str = "video") -> dict:
        session = session_of(request, response)
        target = session.new_path(".upload")
        await save_body(request, target, settings.max_upload_bytes, name)
        try:
            check_video(target, name, settings.max_video_minutes)
        except HTTPException:
            target.unlink(missing_ok=True)
            raise
        return jobs.submit(session, target, display_name(name)).public()

    @app.get("/api/videos/{job_id}")
    async def video_status(job_id: str, request: Request) -> dict:
        return job_of(request, job_id).public()

    @app.get("/api/videos/{job_id}/csv")
    async def video_csv(job_id: str, request: Request) -> FileResponse:
        job = finished_job(request, job_id)
        return FileResponse(job.csv, media_type="text/csv", filename=f"{Path(job.name).stem}_emotions.csv")

    @app.get("/api/videos/{job_id}/video")
    async def video_file(job_id: str, request: Request) -> FileResponse:
        job = finished_job(request, job_id)
        return FileResponse(job.annotated, media_type="video/mp4", filename=f"{Path(job.name).stem}_annotated.mp4")

    @app.post("/api/session/end")
    async def end_session(request: Request) -> JSONResponse:
        session_id = request.cookies.get(SESSION_COOKIE)
        jobs.forget(session_id or "")
        return JSONResponse({"deleted": store.end(session_id)})

    def job_of(request: Request, job_id: str):
        session = store.find(request.cookies.get(SESSION_COOKIE))
        job = jobs.get(session, job_id) if session is not None else None
        if job is None:
            raise HTTPException(404, f"no video job {job_id!r} in this session")
        return job

    def finished_job(request: Request, job_id: str):
        job = job_of(request, job_id)
        if job.status != "done":
            raise HTTPException(409, f"video job {job_id} is {job.status}, not done")
        return job

    return app


def display_name(name: str) -> str:
    """The client's file name, for display only: path parts and odd characters removed."""
    return _SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name)[:100] or "upload"


async def read_body(request: Request, limit: int, name: str) -> bytes:
    """The request body, refused with 413 as soon as it is known to be over `limit` bytes."""
    check_declared_length(request, limit, name)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"{display_name(name)}: over the {limit // 2**20} MB upload limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def save_body(request: Request, target: Path, limit: int, name: str) -> None:
    """Stream the request body into `target`; 413 (and nothing kept) once it passes `limit` bytes."""
    check_declared_length(request, limit, name)
    size = 0
    try:
        with target.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"{display_name(name)}: over the {limit // 2**20} MB upload limit")
                out.write(chunk)
    except HTTPException:
        target.unlink(missing_ok=True)
        raise
    if size == 0:
        target.unlink(missing_ok=True)
        raise HTTPException(400, f"{display_name(name)}: the upload is empty")


def check_declared_length(request: Request, limit: int, name: str) -> None:
    """413 before reading anything when Content-Length already says the body is too large."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(
            413, f"{display_name(name)}: {int(declared) // 2**20} MB is over the {limit // 2**20} MB limit"
        )


def check_video(path: Path, name: str, max_minutes: float) -> None:
    """415 for what OpenCV cannot decode as a video, 422 for one over the duration limit."""
    try:
        source = open_video(path)
    except InputError:
        raise HTTPException(415, f"{display_name(name)}: not a video OpenCV can decode (MP4, AVI, MOV, WebM)") from None
    try:
        frames = source.frame_count or 0
        if frames <= 0 or next(iter(source), None) is None:
            raise HTTPException(415, f"{display_name(name)}: the video has no frames")
        minutes = frames / source.fps / 60
        if minutes > max_minutes:
            raise HTTPException(
                422, f"{display_name(name)}: {minutes:.1f} min long, over the {max_minutes:g} min limit"
            )
    finally:
        source.close()


async def _expire_sessions(store: SessionStore, jobs: VideoJobs, every_seconds: float = 60.0) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        for session_id in store.expire():
            jobs.forget(session_id)
