"""The app's limits and places: settings, not literals (`configs/serve.yaml` sets them)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class AppSettings(BaseModel):
    """What the server accepts and where it keeps uploads; every limit is checked before work is done. A limit is a
    finite number: `inf` would fail each request that reads it (500), not lift the limit."""

    model_config = ConfigDict(allow_inf_nan=False)

    max_upload_mb: float = Field(200.0, gt=0, description="largest video or photo upload")
    max_video_minutes: float = Field(10.0, gt=0, description="longest video accepted for analysis")
    max_frame_kb: float = Field(1024.0, gt=0, description="largest WebSocket frame (JPEG) accepted")
    max_frame_side: int = Field(1920, gt=0, description="largest width or height of a decoded frame or photo")
    session_minutes: float = Field(30.0, gt=0, description="uploads and results are deleted after this idle time")
    every: float = Field(1.0, ge=0, description="seconds between rows of a video's table")
    work_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()) / "facial-emotion-app")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_frame_bytes(self) -> int:
        return int(self.max_frame_kb * 1024)
