"""A leading `~` in an option means the home folder, quoted or not.

Hydra takes a quoted `model_path="~/models/m.pkl"` as the literal text (unquoted, bash expands it before Hydra sees
it, zsh refuses it): without this, a quoted `~` reads a file that is not there, or writes into a new folder named
`~` under the current one. Every task calls `expand_home` on its config before it reads an option.
"""

from __future__ import annotations

import os

from omegaconf import DictConfig, ListConfig, OmegaConf


def expand_home(cfg: DictConfig | ListConfig) -> None:
    """Replace, in place, every option whose value is `~` or starts with `~/` by the same path under $HOME.

    Lists and nested groups are walked; interpolations (`${...}`) are left as they are: they resolve to the
    expanded value of what they point at. `~user/...` is expanded as the shell would; text that names no home
    folder (`~5 minutes`) stays as it is.
    """
    keys = cfg.keys() if isinstance(cfg, DictConfig) else range(len(cfg))
    for key in keys:
        if OmegaConf.is_missing(cfg, key) or OmegaConf.is_interpolation(cfg, key):
            continue
        value = cfg[key]
        if isinstance(value, DictConfig | ListConfig):
            expand_home(value)
        elif isinstance(value, str) and value.startswith("~"):
            cfg[key] = os.path.expanduser(value)
