"""Per-visitor temporary folders: generated names only, deleted when the visitor leaves or goes idle."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SESSION_COOKIE = "fe_session"


@dataclass
class Session:
    """One visitor: a folder for their uploads and results, and when they were last seen."""

    session_id: str
    folder: Path
    last_seen: float = field(default_factory=time.monotonic)

    def new_path(self, suffix: str) -> Path:
        """A fresh file name in the session folder (made on first use, readable by this user only); nothing the
        client sent is part of it."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.folder / f"{secrets.token_hex(8)}{suffix}"


class SessionStore:
    """Creates, finds and deletes sessions; `expire()` drops those idle for longer than `ttl_seconds`."""

    def __init__(self, root: Path, ttl_seconds: float) -> None:
        self.root = Path(root)
        self.ttl_seconds = float(ttl_seconds)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get_or_create(self, session_id: str | None) -> Session:
        """The session named by the cookie, or a new one (an unknown or malformed id is never used as a path)."""
        with self._lock:
            session = self._sessions.get(session_id or "")
            if session is None:
                new_id = secrets.token_urlsafe(16)
                session = Session(new_id, self.root / secrets.token_hex(8))  # its folder waits for an upload
                self._sessions[new_id] = session
            session.last_seen = time.monotonic()
            return session

    def find(self, session_id: str | None) -> Session | None:
        with self._lock:
            session = self._sessions.get(session_id or "")
            if session is not None:
                session.last_seen = time.monotonic()
            return session

    def end(self, session_id: str | None) -> bool:
        """Delete the session's folder now (the page was closed)."""
        with self._lock:
            session = self._sessions.pop(session_id or "", None)
        if session is not None:
            shutil.rmtree(session.folder, ignore_errors=True)
        return session is not None

    def expire(self, now: float | None = None) -> list[str]:
        """Delete the sessions idle for longer than the time to live; their ids."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stale = [sid for sid, s in self._sessions.items() if now - s.last_seen > self.ttl_seconds]
        for session_id in stale:
            self.end(session_id)
        return stale

    def remove_leftovers(self, now: float | None = None) -> list[Path]:
        """Delete session folders that no session of this server owns and nothing has touched for longer than the
        time to live: what a crashed or killed server left behind (another server sharing the folder keeps its
        live ones). The folders deleted."""
        now = time.time() if now is None else now
        with self._lock:
            owned = {session.folder for session in self._sessions.values()}
        stale = [
            folder
            for folder in (self.root.iterdir() if self.root.is_dir() else [])
            if folder.is_dir() and folder not in owned and now - _last_change(folder) > self.ttl_seconds
        ]
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
        return stale

    def close(self) -> None:
        """Delete every session (the server stops)."""
        for session_id in list(self._sessions):
            self.end(session_id)


def _last_change(folder: Path) -> float:
    """The newest modification time of the folder and the files in it (seconds since the epoch)."""
    times = [folder.stat().st_mtime]
    for path in folder.iterdir():
        with contextlib.suppress(OSError):  # deleted meanwhile
            times.append(path.stat().st_mtime)
    return max(times)
