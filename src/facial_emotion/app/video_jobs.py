"""Uploaded videos analysed in the background, one at a time, with progress; results kept in the session folder."""

from __future__ import annotations

import logging
import secrets
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pandas as pd

from facial_emotion.api import EmotionRecognizer, InputError
from facial_emotion.app.sessions import Session

log = logging.getLogger(__name__)


@dataclass
class VideoJob:
    """One uploaded video: where its files are, how far the analysis is, and its table when done."""

    job_id: str
    name: str  # the client's file name: shown on the page, never used as a path
    upload: Path
    csv: Path
    annotated: Path
    tab: str = ""  # the browser tab that uploaded it: closing that tab ends it, not the visitor's other tabs
    status: str = "queued"  # queued -> running -> done | failed | cancelled
    cancelled: threading.Event = field(default_factory=threading.Event)
    frames_done: int = 0
    frames_total: int = 0
    error: str | None = None
    table: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    warning: str | None = None  # the file ended well before its stated length: the table covers the part read

    def progress(self) -> float:
        if self.status == "done":
            return 1.0
        return self.frames_done / self.frames_total if self.frames_total else 0.0

    def public(self) -> dict[str, Any]:
        """What the page polls: status, progress and, when done, the per-second table and any warning."""
        return {
            "job_id": self.job_id,
            "name": self.name,
            "status": self.status,
            "progress": round(self.progress(), 4),
            "error": self.error,
            "duration": self.duration,
            "table": self.table if self.status == "done" else [],
            "warning": self.warning if self.status == "done" else None,
        }


class VideoJobs:
    """Queues analyses on one worker thread (the CPU is shared with the live stream) and tracks them per session."""

    def __init__(self, recognizer: EmotionRecognizer, every: float) -> None:
        self.recognizer = recognizer
        self.every = every
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video-job")
        self._jobs: dict[tuple[str, str], VideoJob] = {}
        self._lock = threading.Lock()

    def submit(self, session: Session, upload: Path, name: str, tab: str = "") -> VideoJob:
        """Start analysing `upload` (already saved under a generated name) for `session`'s browser tab `tab`."""
        job = VideoJob(
            job_id=secrets.token_hex(8),
            name=name,
            upload=upload,
            csv=session.new_path(".csv"),
            annotated=session.new_path(".mp4"),
            tab=tab,
        )
        with self._lock:
            self._jobs[(session.session_id, job.job_id)] = job
        self._executor.submit(self._run, job)
        return job

    def get(self, session: Session, job_id: str) -> VideoJob | None:
        with self._lock:
            return self._jobs.get((session.session_id, job_id))

    def forget(self, session_id: str, tab: str | None = None) -> int:
        """Stop and drop a session's jobs (those of one browser tab, with `tab`), deleting their files; a queued job
        never starts and a running one stops at its next frame, so nobody's next upload waits behind it. How many."""
        with self._lock:
            keys = [k for k, job in self._jobs.items() if k[0] == session_id and tab in (None, job.tab)]
            jobs = [self._jobs.pop(key) for key in keys]
        for job in jobs:
            job.cancelled.set()
            for path in (job.upload, job.csv, job.annotated):
                path.unlink(missing_ok=True)
        return len(jobs)

    def close(self) -> None:
        """The server stops: queued jobs never start and a running one stops at its next frame (the process waits
        for it before exiting: a long video's analysis would hold Ctrl-C for minutes)."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancelled.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: VideoJob) -> None:
        if job.cancelled.is_set():  # its tab was closed while it waited
            job.status = "cancelled"
            return
        job.status = "running"

        def progress(done: int, total: int | None) -> None:
            job.frames_done, job.frames_total = done, total or 0
            if job.cancelled.is_set():
                raise JobCancelledError

        raw = job.annotated.with_suffix(".raw.mp4")
        try:
            table = self.recognizer.analyze_video(job.upload, every=self.every, progress=progress, save_video=raw)
            to_h264(raw, job.annotated)
            table.to_csv(job.csv, index=False)
            job.table = table_rows(table)
            job.duration = float(table.attrs.get("duration", 0.0))
            job.warning = named_warning(table.attrs.get("warning"), job)
            job.status = "done"
        except JobCancelledError:
            job.status = "cancelled"
        except subprocess.SubprocessError as error:  # ffmpeg failed or ran past its time: say so, not its command line
            why = f"exit status {error.returncode}" if isinstance(error, subprocess.CalledProcessError) else "timed out"
            job.error = f"{job.name}: the annotated video could not be encoded as H.264 (ffmpeg {why})"
            job.status = "failed"
        except (InputError, OSError) as error:
            job.error = f"{job.name}: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
            job.status = "failed"
        except Exception as error:  # anything else (no ffmpeg at all, a bug) must still end the job the page polls
            log.exception("video job %s (%s) failed", job.job_id, job.name)
            job.error = f"{job.name}: the analysis failed ({type(error).__name__}); the server's log has the details"
            job.status = "failed"
        finally:
            raw.unlink(missing_ok=True)
            job.upload.unlink(missing_ok=True)  # the upload is not needed once analysed
            if job.cancelled.is_set():  # forgotten while it ran: nothing of it stays
                job.csv.unlink(missing_ok=True)
                job.annotated.unlink(missing_ok=True)


class JobCancelledError(Exception):
    """Raised inside an analysis whose tab or session was closed, to stop it at the next frame."""


def named_warning(warning: str | None, job: VideoJob) -> str | None:
    """analyze_video's warning about the upload with the visitor's file name in place of the server's path."""
    if not warning:
        return None
    return f"{job.name}: {warning.removeprefix(f'{job.upload}: ')}"


def table_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The DataFrame as JSON-ready rows (numpy scalars to Python numbers)."""
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in table.to_dict("records")]


def to_h264(source: Path, target: Path) -> None:
    """Re-encode OpenCV's MPEG-4 output as H.264 (yuv420p, faststart) so browsers play it; imageio-ffmpeg's ffmpeg."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(source)]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(target)]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
