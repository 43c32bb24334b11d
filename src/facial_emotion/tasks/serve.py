"""`python scripts/serve.py [host=127.0.0.1] [port=8000]`: the browser app (webcam, videos, photos)."""

from __future__ import annotations

import ipaddress

import uvicorn
from omegaconf import DictConfig, OmegaConf
from pydantic import ValidationError

from facial_emotion.api import EmotionRecognizer
from facial_emotion.app.server import create_app
from facial_emotion.app.settings import AppSettings
from facial_emotion.core.options import OptionError, exit_with_error, number
from facial_emotion.core.user_paths import expand_home


def build_app(cfg: DictConfig):
    """The FastAPI app for `cfg` (the recognizer loaded once, shared by every client); the limits are checked
    first, so a bad one is refused before the model loads."""
    settings = app_settings(cfg)
    recognizer = EmotionRecognizer(model_path=cfg.model_path, views=cfg.views, backend=cfg.backend)
    return create_app(settings, recognizer)


def app_settings(cfg: DictConfig) -> AppSettings:
    """`cfg.app` as AppSettings; an OptionError naming the first bad limit, in one line."""
    try:
        return AppSettings(**OmegaConf.to_container(cfg.app, resolve=True))
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise OptionError(f"app.{key}: {first['msg'][:1].lower()}{first['msg'][1:]}, got {first['input']!r}") from None


def run(cfg: DictConfig) -> None:
    """Load the model, then serve until Ctrl-C."""
    expand_home(cfg)
    try:
        port = number(cfg, "port", integer=True)
        if port is None or not 1 <= port <= 65535:
            raise OptionError(f"port must be a whole number from 1 to 65535, got {cfg.port!r}")
        app = build_app(cfg)
    except ValueError as error:  # a bad option, model file or setting (ModelFileError, InputError: ValueErrors)
        exit_with_error(str(error))
    if not _is_loopback(str(cfg.host)):
        print(f"Listening on {cfg.host}: other machines can reach the app (host=127.0.0.1 keeps it local)")
    print(f"Open http://{cfg.host}:{cfg.port}/ (Ctrl-C stops)")
    uvicorn.run(app, host=str(cfg.host), port=port, log_level="warning", ws_max_size=4 * 2**20)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
