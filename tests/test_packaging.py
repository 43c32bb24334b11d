"""`pip install` without the checkout: the wheel bundles the configs, the scratch model files and the demo video,
and the API and the `facial-emotion` commands run from it as they do from the checkout."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from facial_emotion import EmotionRecognizer
from facial_emotion.data.locate import INSTALLED, PROJECT_ROOT, find_project_root, resolve_model_path
from facial_emotion.tasks import cli

SHARED = PROJECT_ROOT.parent / "shared"
HAPPY_PHOTO = SHARED / "faces" / "nimstim" / "Happy" / "01F_HA_C.jpg"
SHIPPED_MODELS = ("my_own_model.pkl", "my_own_model_real_faces.pkl")
SHIPPED_GRAPHS = sorted((PROJECT_ROOT / "results" / "model" / "graphs").glob("*.int8.onnx"))
needs_photo = pytest.mark.skipif(not HAPPY_PHOTO.is_file(), reason=f"real photos not found under {SHARED}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the checkout (the checkout stays clean), installed without its dependencies
    (the test's own environment has them) into a folder of its own."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(PROJECT_ROOT / name, source / name)
    ignore = shutil.ignore_patterns("*.egg-info", "__pycache__", ".cache")
    for folder in ("src", "configs", "results/model", "results/preprocessing_test"):  # what setup.py may bundle
        shutil.copytree(PROJECT_ROOT / folder, source / folder, ignore=ignore)
    dist, target = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    build = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("facial_emotion-*.whl")
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr
    return target


def run_installed(site: Path, code: str, cwd: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -c code args` in `cwd` with the wheel's package first on the path (before the editable checkout)."""
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_CACHE_HOME": str(cache)}
    env.pop("FER_DATA_DIR", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


CLI = "import sys; from facial_emotion.tasks.cli import main; main(sys.argv[1:])"


def test_the_wheel_bundles_every_config_the_model_files_and_the_demo_video(site: Path) -> None:
    bundle = site / "facial_emotion" / "bundled"
    checkout_configs = {p.relative_to(PROJECT_ROOT / "configs") for p in (PROJECT_ROOT / "configs").rglob("*.yaml")}
    assert {p.relative_to(bundle / "configs") for p in (bundle / "configs").rglob("*.yaml")} == checkout_configs
    for name in SHIPPED_MODELS:
        assert filecmp.cmp(bundle / "results/model" / name, PROJECT_ROOT / "results/model" / name, shallow=False)
    assert SHIPPED_GRAPHS, "results/model/graphs/ holds no int8 graph to bundle"
    for graph in SHIPPED_GRAPHS:
        for shipped in (graph, graph.with_suffix(".json")):
            assert filecmp.cmp(bundle / "results/model/graphs" / shipped.name, shipped, shallow=False)
    assert (bundle / "results" / "preprocessing_test" / "input_video.mp4").is_file()
    assert (site / "facial_emotion" / "app" / "static").is_dir()


def test_the_checkout_is_found_as_before() -> None:
    assert not INSTALLED
    assert (PROJECT_ROOT / "configs").is_dir() and (PROJECT_ROOT / "src" / "facial_emotion").is_dir()


def test_the_project_root_is_the_checkout_else_the_bundle(tmp_path: Path) -> None:
    checkout_package = tmp_path / "repo" / "src" / "facial_emotion"
    checkout_package.mkdir(parents=True)
    (tmp_path / "repo" / "configs").mkdir()
    assert find_project_root(checkout_package) == tmp_path / "repo"
    installed_package = tmp_path / "lib" / "python3.11" / "site-packages" / "facial_emotion"
    installed_package.mkdir(parents=True)
    assert find_project_root(installed_package) == installed_package / "bundled"


def test_a_shipped_model_is_found_by_its_name_unless_such_a_file_is_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_model_path("my_own_model.pkl") == PROJECT_ROOT / "results" / "model" / "my_own_model.pkl"
    assert resolve_model_path("elsewhere/my_own_model.pkl") == Path("elsewhere/my_own_model.pkl")
    assert resolve_model_path("unknown.pkl") == Path("unknown.pkl")
    (tmp_path / "my_own_model.pkl").write_bytes(b"mine")
    assert resolve_model_path("my_own_model.pkl") == Path("my_own_model.pkl")
    assert cli.with_shipped_model("model_path=my_own_model.pkl") == "model_path=my_own_model.pkl"
    (tmp_path / "my_own_model.pkl").unlink()
    shipped = PROJECT_ROOT / "results" / "model" / "my_own_model_real_faces.pkl"
    assert cli.with_shipped_model("model_path=my_own_model_real_faces.pkl") == f"model_path='{shipped}'"
    assert cli.with_shipped_model("path=my_own_model.pkl") == "path=my_own_model.pkl"


def test_the_command_lists_its_commands_and_refuses_others(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    listed = capsys.readouterr().out
    assert all(f"  {name} " in listed for name in cli.COMMANDS)
    assert all((PROJECT_ROOT / "scripts" / f"{name}.py").is_file() for name in cli.COMMANDS)
    for argv, code in (([], 2), (["train"], 2)):
        with pytest.raises(SystemExit) as done:
            cli.main(argv)
        assert done.value.code == code
    assert "unknown command 'train'" in capsys.readouterr().err
    as_module = subprocess.run([sys.executable, "-m", "facial_emotion", "--help"], capture_output=True, text=True)
    assert as_module.returncode == 0 and as_module.stdout == listed


@needs_photo
def test_the_api_runs_from_the_wheel_as_from_the_checkout(site: Path, tmp_path: Path) -> None:
    code = (
        "import json, sys; import facial_emotion.data.locate as locate; from facial_emotion import EmotionRecognizer;"
        "faces = EmotionRecognizer(backend='onnxruntime').analyze(sys.argv[1]);"
        "print(json.dumps({'root': str(locate.PROJECT_ROOT), 'installed': locate.INSTALLED,"
        " 'work_root': str(locate.work_root()), 'faces': [f.to_dict() for f in faces]}))"
    )
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    result = run_installed(site, code, work, cache, str(HAPPY_PHOTO))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["installed"] and seen["root"] == str(site / "facial_emotion" / "bundled")
    assert seen["work_root"] == str(work)
    expected = EmotionRecognizer(backend="onnxruntime").analyze(HAPPY_PHOTO)
    assert len(seen["faces"]) == len(expected) == 1
    face, reference = seen["faces"][0], expected[0].to_dict()
    assert face["label"] == reference["label"] == "Happy"
    assert face["box"] == pytest.approx(reference["box"], abs=1e-3)
    assert face["probabilities"] == pytest.approx(reference["probabilities"], abs=1e-5)
    # The graph derived from a bundled file goes to the user cache, never into site-packages.
    assert list((cache / "facial_emotion" / "graphs").glob("my_own_model_real_faces.*.fp32.onnx"))
    assert {p.name for p in site.rglob("*.onnx")} == {p.name for p in SHIPPED_GRAPHS} and not list(work.iterdir())


@needs_photo
def test_the_wheel_runs_the_shipped_int8_graph_at_once_without_fer2013(site: Path, tmp_path: Path) -> None:
    log, cache = tmp_path / "faces.csv", tmp_path / "cache"
    args = ["predict_image", f"path={HAPPY_PHOTO}", f"log={log}", "backend=auto"]
    result = run_installed(site, CLI, tmp_path, cache, *args)
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr  # no "no int8 graph built yet; using onnxruntime fp32"
    assert not list(cache.rglob("*.onnx"))  # nothing built: the bundled graph ran as it is
    expected = EmotionRecognizer(backend="onnxruntime-int8").analyze(HAPPY_PHOTO)[0]
    row = pd.read_csv(log).iloc[0]
    for name, probability in expected.probabilities.items():
        assert row[name] == pytest.approx(probability, abs=1e-5)


@needs_photo
def test_the_command_runs_from_the_wheel_with_a_shipped_model_by_name(site: Path, tmp_path: Path) -> None:
    log = tmp_path / "faces.csv"
    args = ["predict_image", f"path={HAPPY_PHOTO}", f"log={log}", "model_path=my_own_model.pkl", "backend=onnxruntime"]
    result = run_installed(site, CLI, tmp_path, tmp_path / "cache", *args)
    assert result.returncode == 0, result.stderr
    assert "01F_HA_C.jpg : Happy" in result.stdout
    row = pd.read_csv(log).iloc[0]
    expected = EmotionRecognizer(model_path="my_own_model.pkl", backend="onnxruntime").analyze(HAPPY_PHOTO)[0]
    assert row["emotion"] == expected.label
    for name, probability in expected.probabilities.items():
        assert row[name] == pytest.approx(probability, abs=1e-5)


def test_the_live_stream_plays_the_bundled_demo_video_without_a_camera(site: Path, tmp_path: Path) -> None:
    args = ["predict_live_stream", "source=99", "max_seconds=2", "show=false", "backend=onnxruntime"]
    result = run_installed(site, CLI, tmp_path, tmp_path / "cache", *args)
    assert result.returncode == 0, result.stderr
    assert "input_video.mp4" in result.stdout + result.stderr
    assert "00:00:01s : " in result.stdout


def test_a_command_whose_extra_is_missing_says_how_to_install_it(tmp_path: Path) -> None:
    code = "import sys; sys.modules['uvicorn'] = None; " + CLI  # as if facial-emotion[app] were not installed
    result = subprocess.run([sys.executable, "-c", code, "serve"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: facial-emotion serve needs uvicorn, which is not installed: pip install 'facial-emotion[app]'"
    )
