"""The scripts' own settings, composed from `configs/` with Hydra's compose API (no second set of defaults)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.utils import JobRuntime
from omegaconf import DictConfig

from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.training.resolvers import register_resolvers

CONFIG_DIR = PROJECT_ROOT / "configs"
PHOTO_CONFIG = "predict_image"  # what `scripts/predict_image.py` runs with
VIDEO_CONFIG = "predict_live_stream"  # what `scripts/predict_live_stream.py` runs with


def compose_settings(config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """`configs/<config_name>.yaml` with Hydra `overrides`, resolved; works inside a running Hydra app too.
    `return_hydra_config`: with its `hydra` node (`hydra.runtime.choices`: each config group's choice)."""
    register_resolvers()
    global_hydra = GlobalHydra.instance()
    # A Hydra app (a multirun job, a user's own app) already holds the global instance and the job name (its
    # log file's name): set them aside and put them back.
    outer = global_hydra.hydra if global_hydra.is_initialized() else None
    job_name = JobRuntime.instance().get("name")
    global_hydra.clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR), job_name=job_name):
            cfg = compose(config_name=config_name, overrides=list(overrides), return_hydra_config=return_hydra_config)
    finally:
        JobRuntime.instance().set("name", job_name)
        if outer is not None:
            GlobalHydra.instance().initialize(outer)
    return cfg


def composed_groups(config_name: str, overrides: Sequence[str] = ()) -> dict[str, str | None]:
    """The project's config groups `configs/<config_name>.yaml` composes (with Hydra `overrides`), each with its
    choice (None: left out by default, as train.yaml's `experiment`); Hydra's own (`hydra/...`) are not listed."""
    choices = compose_settings(config_name, overrides, return_hydra_config=True).hydra.runtime.choices
    return {group: choice for group, choice in choices.items() if not group.startswith("hydra")}


def override_value(value: str) -> str:
    """`value` quoted for a Hydra override or sweep item, so commas, spaces and `=` in a path stay literal.

    Hydra reads a backslash as an escape only before a quote or at the end of a quoted string.
    """
    escaped = re.sub(r"(\\+)(?='|$)", lambda match: match.group(1) * 2, value).replace("'", "\\'")
    return f"'{escaped}'"
