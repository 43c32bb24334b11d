"""OmegaConf resolvers used by the configs: project root, data directory, precision, packaged weights."""

from __future__ import annotations

from omegaconf import OmegaConf

from facial_emotion.core.hardware import auto_precision
from facial_emotion.data.locate import PROJECT_ROOT, default_data_dir, work_root
from facial_emotion.models.packaged_weights import packaged_weights_file


def register_resolvers() -> None:
    """Register `${project_root:}`, `${work_root:}`, `${fer_data_dir:}`, `${auto_precision:accelerator}` and
    `${packaged_weights:package,filename}` (idempotent)."""
    OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
    OmegaConf.register_new_resolver("work_root", lambda: str(work_root()), replace=True)
    OmegaConf.register_new_resolver("fer_data_dir", lambda: str(default_data_dir()), replace=True)
    OmegaConf.register_new_resolver("auto_precision", lambda acc="cpu": auto_precision(acc), replace=True)
    OmegaConf.register_new_resolver("packaged_weights", packaged_weights_file, replace=True)
