"""`python scripts/serve.py [host=127.0.0.1] [port=8000]`: the browser app (webcam, videos, photos)."""

from __future__ import annotations

import ipaddress

import uvicorn
from omegaconf import DictConfig, OmegaConf

from facial_emotion.api import EmotionRecognizer
from facial_emotion.app.server import create_app
from facial_emotion.app.settings import AppSettings
from facial_emotion.core.options import exit_with_error
from facial_emotion.core.user_paths import expand_home


def build_app(cfg: DictConfig):
    """The FastAPI app for `cfg` (the recognizer loaded once, shared by every client)."""
    recognizer = EmotionRecognizer(model_path=cfg.model_path, views=cfg.views, backend=cfg.backend)
    return create_app(AppSettings(**OmegaConf.to_container(cfg.app, resolve=True)), recognizer)


def run(cfg: DictConfig) -> None:
    """Load the model, then serve until Ctrl-C."""
    expand_home(cfg)
    try:
        app = build_app(cfg)
    except ValueError as error:  # a bad model file or setting (ModelFileError and InputError are ValueErrors)
        exit_with_error(str(error))
    if not _is_loopback(str(cfg.host)):
        print(f"Listening on {cfg.host}: other machines can reach the app (host=127.0.0.1 keeps it local)")
    print(f"Open http://{cfg.host}:{cfg.port}/ (Ctrl-C stops)")
    uvicorn.run(app, host=str(cfg.host), port=int(cfg.port), log_level="warning", ws_max_size=4 * 2**20)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
