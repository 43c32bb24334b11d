"""Hyperparameters as plain Python values, so the checkpoints holding them load with `torch.load(weights_only=True)`.

Lightning stores a module's `hparams` in every checkpoint; an OmegaConf container among them (what Hydra passes
for a config group) would make the checkpoint loadable only by unpickling arbitrary objects.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf


def plain_hyperparameters(hparams: MutableMapping[str, Any]) -> None:
    """Replace, in place, every OmegaConf container among `hparams`' values by its plain dict or list."""
    for key, value in list(hparams.items()):
        if isinstance(value, DictConfig | ListConfig):
            hparams[key] = OmegaConf.to_container(value, resolve=True)
