"""`--help` for a script: its own config file as written (every option with its default and comment) and the config
groups it composes, instead of Hydra's page listing every group of configs/ (training's included) without a comment.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

from omegaconf import OmegaConf

from facial_emotion.api.settings import CONFIG_DIR, composed_groups

HELP_FLAGS = ("--help", "-h")


def script_help(config_name: str, program: str | None = None) -> str:
    """The help page of the script run by `configs/<config_name>.yaml`; `program` is how it was called (default:
    `python scripts/<name>.py`)."""
    program = program or f"python scripts/{config_name}.py"
    lines = [
        f"usage: {program} [key=value ...]",
        "",
        f"Options, as configs/{config_name}.yaml sets them (key=value overrides one, a.b=value a nested one;",
        "--cfg job prints the whole composed config, --hydra-help Hydra's own flags):",
        "",
        _config_text(config_name),
    ]
    for included in _included_configs(config_name):
        lines += [f"And every option of configs/{included}.yaml:", "", _config_text(included)]
    groups = composed_groups(config_name)
    if groups:
        lines.append("Config groups it composes (group=choice; * marks the default):")
        for group, choice in sorted(groups.items()):
            names = sorted(str(path.relative_to(CONFIG_DIR / group).with_suffix("")) for path in _group_files(group))
            marked = [f"{name}*" if name == choice else name for name in names]
            line = f"{group}: {', '.join(marked)}" + ("" if choice else " (none by default)")
            lines += textwrap.wrap(line, width=118, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)


def print_help_if_asked(config_name: str, arguments: list[str], program: str | None = None) -> None:
    """Print `script_help` and exit 0 when `arguments` hold `--help` or `-h`."""
    if any(argument in HELP_FLAGS for argument in arguments):
        try:
            print(script_help(config_name, program), flush=True)
        except BrokenPipeError:  # `--help | head`: the reader left; no traceback for that
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


def _config_text(config_name: str) -> str:
    return (CONFIG_DIR / f"{config_name}.yaml").read_text(encoding="utf-8").rstrip() + "\n"


def _included_configs(config_name: str) -> list[str]:
    """Other scripts' config files this one starts from (`defaults: [serve, _self_]`)."""
    defaults = OmegaConf.load(CONFIG_DIR / f"{config_name}.yaml").get("defaults", [])
    return [entry for entry in defaults if isinstance(entry, str) and entry != "_self_"]


def _group_files(group: str) -> list[Path]:
    return list((CONFIG_DIR / group).rglob("*.yaml"))
