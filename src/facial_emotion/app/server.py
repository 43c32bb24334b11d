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
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from facial_emotion.api import EmotionRecognizer, InputError
from facial_emotion.api.images import encoded_image_size
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

    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and nothing here leaves the machine.
    app = FastAPI(title="Facial emotion", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(RequestValidationError)
    async def one_line_validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's detail is a list of dicts: the page would show "[object Object]"
        return JSONResponse({"detail": validation_message(error)}, status_code=422)

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
        refuse_form_upload(request, name)
        body = await read_body(request, settings.max_upload_bytes, name)
        image = await asyncio.to_thread(decode_photo, body, display_name(name), 4 * settings.max_frame_side)
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
    async def upload_video(request: Request, response: Response, name: str = "video", tab: str = "") -> dict:
        session = session_of(request, response)
        refuse_form_upload(request, name)
        target = session.new_path(".upload")
        await save_body(request, target, settings.max_upload_bytes, name)
        try:
            await asyncio.to_thread(check_video, target, name, settings.max_video_minutes)
        except HTTPException:
            target.unlink(missing_ok=True)
            raise
        return jobs.submit(session, target, display_name(name), tab[:64]).public()

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
    async def end_session(request: Request, tab: str | None = None) -> JSONResponse:
        """The page is closing: delete its uploads and results. With `tab`, only that browser tab's (the
        visitor's other tabs share the cookie and keep theirs); without, the whole session's."""
        session_id = request.cookies.get(SESSION_COOKIE)
        if tab is not None:
            return JSONResponse({"deleted": jobs.forget(session_id or "", tab) > 0})
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


def refuse_form_upload(request: Request, name: str) -> None:
    """415 for an HTML form's multipart body: the routes take the file itself as the request body."""
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise HTTPException(
            415, f"{display_name(name)}: send the file itself as the request body (curl --data-binary @F), not a form"
        )


def decode_photo(body: bytes, name: str, max_side: int) -> np.ndarray:
    """The uploaded photo as BGR; 415 for what is not an image, 413 for one over `max_side` pixels either way,
    refused from its header before any pixel is decoded."""
    try:
        size = encoded_image_size(body, name) if body else None
    except InputError as error:
        raise HTTPException(413, str(error)) from None
    if size is None:
        raise HTTPException(415, f"{name}: not an image (JPEG, PNG, BMP, TIFF or WebP)")
    if max(size) > max_side:
        raise HTTPException(413, f"{name}: {size[0]}x{size[1]} pixels is too large (at most {max_side} a side)")
    image = cv2.imdecode(np.frombuffer(body, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise HTTPException(415, f"{name}: not a readable image (corrupt or truncated)")
    return image


async def read_body(request: Request, limit: int, name: str) -> bytes:
    """The request body, refused with 413 as soon as it is known to be over `limit` bytes; 400 when the client
    disconnects before its end."""
    check_declared_length(request, limit, name)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"{display_name(name)}: over the {limit // 2**20} MB upload limit")
            chunks.append(chunk)
    except ClientDisconnect:  # the visitor left mid-upload: nobody reads the answer, but no traceback in the log
        raise HTTPException(400, f"{display_name(name)}: the upload was cut off") from None
    return b"".join(chunks)


async def save_body(request: Request, target: Path, limit: int, name: str) -> None:
    """Stream the request body into `target`; 413 (and nothing kept) once it passes `limit` bytes, 400 (nothing
    kept) when the client disconnects before the body's end."""
    check_declared_length(request, limit, name)
    size = 0
    try:
        with target.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"{display_name(name)}: over the {limit // 2**20} MB upload limit")
                out.write(chunk)
    except BaseException as error:  # over the limit, the visitor left mid-upload, the disk is full: nothing kept
        target.unlink(missing_ok=True)
        if isinstance(error, ClientDisconnect):
            raise HTTPException(400, f"{display_name(name)}: the upload was cut off") from None
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
    """415 for what OpenCV cannot decode as a video, 422 for one over the duration limit. A file whose header states
    no length (a browser's WebM recording, a piped AVI) is read frame by frame, by the frames' own times, up to the
    limit."""
    try:
        source = open_video(path)
    except InputError:
        raise HTTPException(415, f"{display_name(name)}: not a video OpenCV can decode (MP4, AVI, MOV, WebM)") from None
    try:
        frames = source.frame_count
        if frames is None:
            for timestamp, _ in source:
                if timestamp > max_minutes * 60:
                    break
            frames = source.frames_passed
            seconds = source.end_time
        else:
            seconds = frames / source.fps
        if frames == 0:
            raise HTTPException(415, f"{display_name(name)}: the video has no frames")
        minutes = seconds / 60
        if minutes > max_minutes:
            raise HTTPException(
                422, f"{display_name(name)}: {minutes:.1f} min long, over the {max_minutes:g} min limit"
            )
    finally:
        source.close()


async def _expire_sessions(store: SessionStore, jobs: VideoJobs, every_seconds: float = 60.0) -> None:
    while True:
        await asyncio.to_thread(store.remove_leftovers)
        await asyncio.sleep(every_seconds)
        for session_id in store.expire():
            jobs.forget(session_id)


def validation_message(error: RequestValidationError) -> str:
    """FastAPI's validation errors as one line: `whole_image: Input should be a valid boolean, ... (got 'maybe')`."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ())[1:]) or "request"
        got = f" (got {item['input']!r})" if isinstance(item.get("input"), str | int | float) else ""
        parts.append(f"{where}: {item.get('msg', 'invalid')}{got}")
    return "; ".join(parts) or "invalid request"
