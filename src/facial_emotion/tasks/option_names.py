"""The scripts refuse a misspelt or unknown option in one line (exit 2) before Hydra runs the task."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from facial_emotion.api.option_names import unknown_option_message
from facial_emotion.core.options import exit_with_error
from facial_emotion.tasks.script_help import print_help_if_asked


def refuse_unknown_options(
    config_name: str, arguments: Sequence[str] | None = None, program: str | None = None
) -> None:
    """Exit with a one-line error (status 2) if a `key=value` in `arguments` (default: the command line) names no
    option of `config_name`'s config; with `--help`, print the script's own help (`script_help`, `program`: how it
    was called) and exit 0; otherwise return and let Hydra run."""
    arguments = sys.argv[1:] if arguments is None else list(arguments)
    print_help_if_asked(config_name, arguments, program)
    message = unknown_option_message(config_name, arguments)
    if message is not None:
        exit_with_error(f"{message} (--help shows them with their values)")
