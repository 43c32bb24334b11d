"""A misspelt or unknown option is named in one line with the closest options, before Hydra composes the config.

Hydra's own answer to `python scripts/predict_live_stream.py video=clip.mp4` is five lines ending in the advice to
write `+video=clip.mp4`, which adds an option no task reads: the stream would open the webcam instead of the clip.
Here: `predict_live_stream has no option video; its options: source, ...`: the scripts print it and exit 2
(`tasks/option_names.py`), `EmotionRecognizer(overrides=...)` raises it as a ValueError.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, ValueType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from facial_emotion.api.settings import CONFIG_DIR, compose_settings, composed_groups

# Hydra's flags that take a value (`--cfg job`); after any of the others the check steps aside and Hydra answers.
_FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--experimental-rerun"}
_FLAGS_ALLOWED = {"-m", "--multirun", "--resolve"}
_LISTED = 12  # options named in the message at most (a script's --help shows every one)


def unknown_option_message(config_name: str, arguments: Sequence[str]) -> str | None:
    """What is wrong with the first `key=value` in `arguments` naming no option of `config_name`'s config, or None.

    Checked: plain overrides (`key=value`), the choices of the project's config groups (`model=vgg_small`) and
    groups the config does not compose (`predict.py debug=limit` as a plain option, `+debug=limit` refused: nothing
    would read it). Other `+key=` (add), `++key=`, `~key`, `hydra.*` and `hydra/*` groups (plugins bring choices
    of their own), choices next to a `hydra.searchpath=` (its folders bring more), globs and anything Hydra cannot
    parse are Hydra's to judge. Config groups given in `arguments` (`experiment=...`) are applied first, as they
    can bring options of their own.
    """
    overrides = _overrides(arguments)
    if overrides is None:
        return None
    groups = [o for o in overrides if (CONFIG_DIR / o.key_or_group).is_dir()]
    # hydra.searchpath adds folders whose configs can be chosen too: their choices are Hydra's to judge
    searched = any(o.key_or_group == "hydra.searchpath" for o in overrides)
    unused = [] if searched else _unused_groups(config_name, groups)
    for override in unused:
        if override.is_add() or override.is_force_add():
            return _unused_group_message(config_name, override.key_or_group)
    # A group of other scripts, set without `+`, is checked as a plain option: `compare_runs paths=` is a typo for
    # `path=` (Hydra: "Could not override 'paths'", advising the `+paths=` nothing would read).
    groups = [o for o in groups if o not in unused]
    for group in [] if searched else groups:
        message = _unknown_choice_message(config_name, group)
        if message is not None:
            return message
    plain = [o for o in overrides if o not in groups and not (o.is_add() or o.is_force_add() or o.is_delete())]
    plain = [o for o in plain if o.package is None and not o.key_or_group.startswith("hydra")]
    if not plain:
        return None
    primary = OmegaConf.load(CONFIG_DIR / f"{config_name}.yaml")
    top_level = set(primary.keys()) - {"defaults"}  # keys(), not `in`: OmegaConf's `in` is False for `???` ones
    if all(o.key_or_group in top_level for o in plain):
        return None  # every one is a top-level option of the config file itself: no composition needed
    try:
        cfg = compose_settings(config_name, [_first_choice(o) for o in groups])
    except HydraException:
        return None  # a group option that does not exist: Hydra lists the ones that do
    for override in plain:
        message = _missing_key_message(cfg, config_name, override.key_or_group)
        if message is not None:
            return message
    return None


def _unused_groups(config_name: str, groups: list[Override]) -> list[Override]:
    """The overrides among `groups` (of config-group folders) naming a group `config_name` does not compose, with
    the groups it does set as given (an experiment can bring groups); none where composing fails (Hydra says why)."""
    groups = [o for o in groups if not o.key_or_group.startswith("hydra") and not o.is_delete()]
    if not groups:
        return []
    try:
        used = composed_groups(config_name)
        chosen = [_first_choice(o) for o in groups if o.key_or_group in used and o.value() is not None]
        used = composed_groups(config_name, chosen) if chosen else used
    except (HydraException, ValueError):  # Hydra's own words on what it cannot compose
        return []
    return [o for o in groups if o.key_or_group not in used]


def _unused_group_message(config_name: str, group: str) -> str:
    """`predict does not use the config group debug (...); its groups: paths`."""
    used = sorted(composed_groups(config_name))
    its = f"its groups: {', '.join(used)}" if used else "it composes no config group"
    return f"{config_name} does not use the config group {group} (nothing of it would be read); {its}"


def _overrides(arguments: Sequence[str]) -> list[Override] | None:
    """The `key=value` arguments parsed as Hydra does, or None where the check should leave them to Hydra."""
    lines: list[str] = []
    skip_next = False
    for argument in arguments:
        if skip_next:
            skip_next = False
        elif argument in _FLAGS_WITH_VALUE:
            skip_next = True
        elif argument.startswith("-"):
            if argument not in _FLAGS_ALLOWED:
                return None  # --help, --info, --config-name ...: Hydra's
        else:
            lines.append(argument)
    try:
        return OverridesParser.create().parse_overrides(lines)
    except HydraException:
        return None


def _first_choice(override: Override) -> str:
    """`model=a,b` -> `model=a`: a sweep's first job is composed with each sweep's first value, and an option missing
    there stops the sweep at its first job."""
    if not override.is_sweep_override():
        return override.input_line or ""
    return f"{override.key_or_group}={next(iter(override.sweep_string_iterator()))}"


def _unknown_choice_message(config_name: str, override: Override) -> str | None:
    """`train has no model vgg_smal (did you mean model=vgg_small?); its choices: ...`, or None if every choice in
    `override` (one, a list or a sweep) is a config file of its group, or is Hydra's to judge."""
    group = override.key_or_group
    if group.startswith("hydra") or override.is_delete():
        return None
    folder = CONFIG_DIR / group
    for choice in _choices(override):
        if (folder / f"{choice}.yaml").is_file():
            continue
        names = sorted(str(path.relative_to(folder).with_suffix("")) for path in folder.rglob("*.yaml"))
        close = difflib.get_close_matches(choice, names, n=1, cutoff=0.7)
        hint = f" (did you mean {group}={close[0]}?)" if close else ""
        return f"{config_name} has no {group} {choice}{hint}; its choices: {', '.join(names)}"
    return None


def _choices(override: Override) -> Iterator[str]:
    """The config names an override of a group selects; none where Hydra has to expand them (a glob) or where the
    value is not a plain name (null deselects the group, `${...}` is resolved later)."""
    if override.value_type is ValueType.GLOB_CHOICE_SWEEP:
        return
    values = list(override.sweep_string_iterator()) if override.is_sweep_override() else override.value()
    for value in values if isinstance(values, list) else [values]:
        if isinstance(value, str) and "${" not in value:
            yield value


def _missing_key_message(cfg: DictConfig, config_name: str, key: str) -> str | None:
    """None if `key` (dotted) names an option of `cfg` or a place where any key may be added; else the message."""
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if not isinstance(parent, DictConfig):
        return None  # a list index or a value: OmegaConf's message says what is wrong
    names = [str(name) for name in parent]  # missing (`???`) options included
    if leaf in names or not OmegaConf.is_struct(parent):
        return None
    where = f"{config_name} has no option {key}" if not parent_key else f"{parent_key} has no option {leaf}"
    names = [name for name in names if not name.startswith("_")]  # _target_ and the like are not options
    # A high cutoff: a loose guess misleads (video= is not save_video=, which would write over the clip: 0.67).
    close = difflib.get_close_matches(leaf, names, n=1, cutoff=0.7)
    hint = f" (did you mean {parent_key + '.' if parent_key else ''}{close[0]}=?)" if close else ""
    if key in _documented_additions(config_name):
        hint = f" (add it with +{key}=, as configs/{config_name}.yaml says)"
    listed = ", ".join(names[:_LISTED]) + (", ..." if len(names) > _LISTED else "")
    return f"{where}{hint}; its options: {listed}"


def _documented_additions(config_name: str) -> set[str]:
    """Options a config file's comments tell users to add with `+key=` (train.yaml: `# +init_from=<model file>`)."""
    text = (CONFIG_DIR / f"{config_name}.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"#\s*\+([\w.]+)=", text))
