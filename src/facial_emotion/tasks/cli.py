"""`facial-emotion <command> [key=value ...]`: the scripts' commands where there is no checkout (`pip install`).

`facial-emotion predict_image path=photos/` is `python scripts/predict_image.py path=photos/`: the same task, the
same config file (the package's copy of `configs/`), the same options. The commands are those that read your files
and write where they are told; training, evaluation on FER2013 and the benchmarks stay in the checkout.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import hydra
from omegaconf import DictConfig

from facial_emotion.data.locate import PROJECT_ROOT, resolve_model_path
from facial_emotion.tasks.option_names import refuse_unknown_options


@dataclass(frozen=True)
class Command:
    """One command: what it does, and the functions of its task module that run it and prepare its arguments
    (named, so `--help` does not import the tasks)."""

    summary: str
    function: str = "run"
    prepare_argv: str | None = None
    extra: str | None = None  # the optional dependencies it needs: pip install 'facial-emotion[<extra>]'


COMMANDS = {
    "predict_image": Command("emotion of every face in a photo or a folder of photos"),
    "predict_live_stream": Command("every face of a webcam, a video file or an IP camera, once per second"),
    "analyze_videos": Command("an emotion timeline per video (-m for many)", "analyze_one_video", "sweep_arguments"),
    "preprocess": Command("one 48x48 face crop per second of a video"),
    "evaluate_faces": Command("accuracy on a labelled folder of face photos (<Label>/<image>)"),
    "serve": Command("the browser app: webcam, videos and photos (pip install 'facial-emotion[app]')", extra="app"),
    "build_graphs": Command("build the int8 graph backend=auto runs (needs FER2013: FER_DATA_DIR)"),
}


def usage() -> str:
    """The help text: how to call, then one line per command."""
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    return "\n".join(
        [
            "usage: facial-emotion <command> [key=value ...] [--help]",
            "",
            "commands (options: facial-emotion <command> --help):",
            *lines,
        ]
    )


def with_shipped_model(option: str) -> str:
    """`model_path=my_own_model.pkl` (a shipped file's name, no such file here) -> the shipped file's path."""
    key, equals, value = option.partition("=")
    if key != "model_path" or not equals or not value or value == "null":
        return option
    from facial_emotion.api.settings import override_value  # here: importing the API loads torch, --help need not

    resolved = resolve_model_path(value)
    return option if resolved == Path(value).expanduser() else f"model_path={override_value(str(resolved))}"


def main(argv: Sequence[str] | None = None) -> None:
    """Run `argv[0]`'s task with Hydra on the package's configs; exit with its status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if args else 2)
    name, options = args[0], args[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"error: unknown command {name!r}\n{usage()}", file=sys.stderr)
        sys.exit(2)
    try:
        module = importlib.import_module(f"facial_emotion.tasks.{name}")
    except ModuleNotFoundError as error:
        how = f": pip install 'facial-emotion[{command.extra}]'" if command.extra else ""
        print(f"error: facial-emotion {name} needs {error.name}, which is not installed{how}", file=sys.stderr)
        sys.exit(2)
    task = getattr(module, command.function)
    options = [with_shipped_model(option) for option in options]
    argv_for_hydra = [f"facial-emotion {name}", *options, f"hydra.job.name={name}"]
    if command.prepare_argv is not None:
        try:
            argv_for_hydra = getattr(module, command.prepare_argv)(argv_for_hydra)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    @hydra.main(version_base="1.3", config_path=str(PROJECT_ROOT / "configs"), config_name=name)
    def run(cfg: DictConfig) -> None:
        sys.exit(task(cfg))

    refuse_unknown_options(name, argv_for_hydra[1:], program=f"facial-emotion {name}")
    sys.argv = argv_for_hydra
    run()
