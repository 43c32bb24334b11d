"""The shape of the house: thin scripts over task modules, config names = script names, one face-pipeline config."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from hydra.utils import get_class
from omegaconf import OmegaConf

from facial_emotion.data.locate import PROJECT_ROOT

SCRIPTS = sorted((PROJECT_ROOT / "scripts").glob("*.py"))
ALLOWED_IMPORTS = ("facial_emotion.tasks", "hydra", "omegaconf", "sys")
MAX_LINES_OF_CODE = 25


def lines_of_code(source: str) -> int:
    """Lines that hold code: not blank, not comments, not the module docstring."""
    tree = ast.parse(source)
    docstring_lines: set[int] = set()
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        docstring_lines = set(range(tree.body[0].lineno, tree.body[0].end_lineno + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstring_lines
    )


def imported_modules(source: str) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules.append(node.module or "")
    return modules


def test_there_are_scripts() -> None:
    assert {"train", "predict", "predict_live_stream", "preprocess", "hack_the_cnn"} <= {s.stem for s in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_is_a_few_lines_over_its_task(script: Path) -> None:
    source = script.read_text()
    assert lines_of_code(source) <= MAX_LINES_OF_CODE
    outside = [m for m in imported_modules(source) if not m.startswith(ALLOWED_IMPORTS)]
    assert outside == [], f"{script.name} imports {outside}: only facial_emotion.tasks (and hydra) belong in scripts"
    assert (PROJECT_ROOT / "configs" / f"{script.stem}.yaml").is_file(), f"no configs/{script.stem}.yaml"
    assert f'config_name="{script.stem}"' in source


def task_entry(script: Path) -> tuple[str, str]:
    """The task module and function a script's `main` hands its config to."""
    tree = ast.parse(script.read_text())
    names = {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and [ast.unparse(arg) for arg in node.args] == ["cfg"]:
            called = ast.unparse(node.func)
            if "." in called:  # predict.run(cfg): the module was imported by name from facial_emotion.tasks
                module, function = called.split(".")
                return f"{names[module]}.{module}", function
            return names[called], called
    raise AssertionError(f"{script.name} hands cfg to no task function")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_task_expands_home_in_its_options_first(script: Path) -> None:
    """A quoted `~` reaches the task as is (Hydra does not expand it); each task expands it before reading options."""
    module, function = task_entry(script)
    body = ast.parse(inspect.getsource(getattr(importlib.import_module(module), function))).body[0].body
    statements = body[1:] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else body
    assert ast.unparse(statements[0]) == "expand_home(cfg)", f"{module}.{function} does not start with expand_home(cfg)"


def test_lines_of_code_counts_code_only() -> None:
    assert lines_of_code('"""Doc\n\nmore."""\n\n# comment\nimport sys\n\nx = 1\n') == 2


FACE_PIPELINE = OmegaConf.load(PROJECT_ROOT / "configs" / "face_pipeline" / "default.yaml")


@pytest.mark.parametrize("part", ["detector", "tracker", "smoother"])
def test_face_pipeline_classes_default_to_the_config(part: str) -> None:
    settings = OmegaConf.to_container(FACE_PIPELINE[part])
    cls = get_class(settings.pop("_target_"))
    parameters = inspect.signature(cls.__init__).parameters
    for name, value in settings.items():
        default = parameters[name].default
        if default is inspect.Parameter.empty:
            continue  # no default of its own: the config is the only source
        assert list(default) == value if isinstance(value, list) else default == value, f"{cls.__name__}.{name}"
    with_defaults = {n for n, p in parameters.items() if p.default is not inspect.Parameter.empty}
    assert with_defaults <= set(settings), f"{cls.__name__} has defaults the config does not set: {with_defaults}"


@pytest.mark.parametrize(
    "setting", ["detect_every", "async_detection", "lookahead_detection", "full_detection_every", "stable_detect_every"]
)
def test_pipeline_defaults_match_the_config(setting: str) -> None:
    from facial_emotion.video.pipeline import EmotionPipeline

    assert inspect.signature(EmotionPipeline.__init__).parameters[setting].default == FACE_PIPELINE[setting]


def test_cropper_settings_only_override_the_model_files_geometry() -> None:
    from facial_emotion.core.crop_geometry import CropGeometry

    settings = OmegaConf.to_container(FACE_PIPELINE.cropper)
    assert set(settings) <= set(CropGeometry.__dataclass_fields__) and all(v is None for v in settings.values())
