"""OmegaConf resolvers used by the configs: project root, data directory, automatic precision."""

from __future__ import annotations

from omegaconf import OmegaConf

from facial_emotion.data.locate import PROJECT_ROOT, default_data_dir
from facial_emotion.training.hardware import auto_precision


def register_resolvers() -> None:
    """Register `${project_root:}`, `${fer_data_dir:}` and `${auto_precision:accelerator}` (idempotent)."""
    OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
    OmegaConf.register_new_resolver("fer_data_dir", lambda: str(default_data_dir()), replace=True)
    OmegaConf.register_new_resolver("auto_precision", lambda acc="cpu": auto_precision(acc), replace=True)
