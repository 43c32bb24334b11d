"""A run's own model file never overwrites the shipped model's results.

Training writes `<run>/model/my_own_model.pkl` (or `pre_trained_model.pkl`), the names of the shipped files in
results/model/. predict.py, evaluate_faces.py table=, compare_models.py and the attack scripts named their outputs
after the file's stem alone, so evaluating a run's file replaced the shipped model's report, plots, table row and
comparison page. Each output of a file other than a shipped one at its shipped place now carries the run's name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from facial_emotion.core.model_file import is_shipped_model, model_label, output_tag
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import model_paths_option
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks import compare_models, evaluate_faces, predict, robustness_report
from tests.conftest import CONFIG_DIR, write_fer_csv

SHIPPED = PROJECT_ROOT / "results" / "model"
RUN = "2026-12-08_02-43-55"  # a training run's folder, as Hydra names it
SHIPPED_PAGE = b"shipped, not to be replaced\n"


def compose_config(name: str, overrides: list[str]) -> OmegaConf:
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        return compose(config_name=name, overrides=overrides)


def runs_copy(tmp_path: Path, shipped_name: str) -> Path:
    """A copy of a shipped model file where training puts a run's own: `<tmp>/<run>/model/<same name>`."""
    copy = tmp_path / RUN / "model" / shipped_name
    copy.parent.mkdir(parents=True)
    shutil.copy(SHIPPED / shipped_name, copy)
    return copy


def shipped_outputs(folder: Path, names: list[str]) -> dict[str, bytes]:
    """A folder holding the shipped model's outputs under `names`; what each holds."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(SHIPPED_PAGE)
    return {name: SHIPPED_PAGE for name in names}


def contents(folder: Path, names: list[str]) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in names}


def test_only_the_shipped_files_at_their_place_keep_the_shipped_names(tmp_path: Path) -> None:
    assert output_tag(SHIPPED / "my_own_model.pkl", PROJECT_ROOT) == ""
    assert output_tag(SHIPPED / "pre_trained_model.pkl", PROJECT_ROOT) == "pre_trained_model"
    assert output_tag(SHIPPED / ".." / "model" / "my_own_model.pkl", PROJECT_ROOT) == ""
    assert model_label(SHIPPED / "my_own_model.pkl", PROJECT_ROOT) == "my_own_model"
    run = tmp_path / "outputs" / "train" / "runs" / RUN / "model"
    assert output_tag(run / "my_own_model.pkl", PROJECT_ROOT) == f"{RUN}_my_own_model"
    assert output_tag(run / "pre_trained_model.pkl", PROJECT_ROOT) == f"{RUN}_pre_trained_model"
    job = tmp_path / "multiruns" / RUN / "3" / "model" / "my_own_model.pkl"  # a sweep's job: its number says little
    assert output_tag(job, PROJECT_ROOT) == f"{RUN}_3_my_own_model"
    assert output_tag(tmp_path / "backups" / "my_own_model_real_faces.pkl", PROJECT_ROOT) == (
        "backups_my_own_model_real_faces"
    )
    assert output_tag(tmp_path / "backups" / "tiny.pkl", PROJECT_ROOT) == "tiny"  # no shipped name: its stem
    assert output_tag(SHIPPED / "tiny.pkl", PROJECT_ROOT) == "tiny"
    assert is_shipped_model(SHIPPED / "my_own_model.pkl", PROJECT_ROOT)
    assert not is_shipped_model(run / "my_own_model.pkl", PROJECT_ROOT)
    assert not is_shipped_model(SHIPPED / "tiny.pkl", PROJECT_ROOT)


def test_an_installed_packages_shipped_files_are_those_in_its_bundle(tmp_path: Path) -> None:
    """An installed wheel ships the model files under the package (`<bundle>/results/model/`)."""
    bundle = tmp_path / "site-packages" / "facial_emotion" / "bundled"
    assert output_tag(bundle / "results" / "model" / "my_own_model.pkl", bundle) == ""
    assert output_tag(tmp_path / "work" / RUN / "model" / "my_own_model.pkl", bundle) == f"{RUN}_my_own_model"
    assert output_tag(SHIPPED / "my_own_model.pkl", bundle) == "results_my_own_model"  # a checkout's, not its own


PREDICT_OUTPUTS = ["confusion_matrix.png", "calibration.png", "test_report.md"]


def run_predict(model: Path, data_dir: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    overrides = [f"model_path={model}", f"data_dir={data_dir}", f"plots_dir={out}", f"report_dir={out}"]
    cfg = compose_config("predict", [*overrides, "backend=torch", "tta=center", "early_exit=none"])
    assert predict.run(cfg) == 0
    return capsys.readouterr().out


def test_predict_of_a_runs_file_leaves_the_shipped_report_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fer_csv(tmp_path / "test_with_emotions.csv", 14, seed=2)
    out = tmp_path / "results_model"
    shipped = shipped_outputs(out, PREDICT_OUTPUTS)
    printed = run_predict(runs_copy(tmp_path, "my_own_model.pkl"), tmp_path, out, capsys)
    assert contents(out, PREDICT_OUTPUTS) == shipped
    tagged = [f"{RUN}_my_own_model_{name}" for name in PREDICT_OUTPUTS]
    assert sorted(p.name for p in out.iterdir()) == sorted(PREDICT_OUTPUTS + tagged)
    assert f"Wrote {out / tagged[0]} and {out / tagged[1]}" in printed
    assert f"Wrote {out / tagged[2]}" in printed
    assert (out / tagged[2]).read_text().startswith(f"# Test report: {tmp_path / RUN / 'model' / 'my_own_model.pkl'}")

    elsewhere = tmp_path / "shipped_run"  # the shipped file itself keeps its plain names
    run_predict(SHIPPED / "my_own_model.pkl", tmp_path, elsewhere, capsys)
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted(PREDICT_OUTPUTS)
    assert (elsewhere / "test_report.md").read_text().startswith("# Test report: my_own_model.pkl")


def test_evaluate_faces_adds_a_runs_row_beside_the_shipped_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faces = tmp_path / "faces" / "tiny"
    rng = np.random.default_rng(0)
    for label in ("Happy", "Sad"):
        (faces / label).mkdir(parents=True)
        for index in range(2):
            cv2.imwrite(str(faces / label / f"{index}.png"), rng.integers(0, 256, (60, 60), dtype=np.uint8))
    table = tmp_path / "real_faces.md"
    common = [f"path={faces}", "crop=given", "tta=center", "early_exit=none", "backend=torch", f"table={table}"]
    shipped_model = SHIPPED / "my_own_model.pkl"
    assert evaluate_faces.run(compose_config("evaluate_faces", [*common, f"model_path={shipped_model}"])) == 0
    shipped_rows = json.loads(table.with_suffix(".json").read_text())
    assert [row["model"] for row in shipped_rows] == ["my_own_model"]

    copy = runs_copy(tmp_path, "my_own_model.pkl")
    assert evaluate_faces.run(compose_config("evaluate_faces", [*common, f"model_path={copy}"])) == 0
    rows = json.loads(table.with_suffix(".json").read_text())
    assert [row["model"] for row in rows] == [f"{RUN}_my_own_model", "my_own_model"]
    assert rows[1] == shipped_rows[0]  # the shipped row as it was
    assert f"{table} (row {RUN}_my_own_model)" in capsys.readouterr().out
    markdown = table.read_text()
    assert f"| {RUN}_my_own_model | tiny | given |" in markdown and "| my_own_model | tiny | given |" in markdown


def test_compare_models_of_a_runs_files_leaves_the_shipped_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(0)
    run_file = tmp_path / RUN / "model" / "my_own_model.pkl"
    export_model(VGGNet(widths=[8, 16], convs_per_stage=1), Preprocessing(tta="center"), run_file)
    shipped_page = SHIPPED / "models.md"
    before = shipped_page.read_bytes()
    cfg = compose_config(
        "compare_models",
        [f"model_paths=[{run_file}]", "batches=[1]", "repeats=1", f"paths.log_dir={tmp_path / 'outputs'}"],
    )
    try:
        compare_models.run(cfg)
    finally:
        replaced = shipped_page.read_bytes() != before
        if replaced:  # the old behaviour: put the shipped page back before failing
            shipped_page.write_bytes(before)
    assert not replaced, "a run's file replaced results/model/models.md"
    assert cfg.output == "auto"
    printed = capsys.readouterr().out
    page = tmp_path / "outputs" / "compare_models" / "models.md"
    assert f"Wrote {page} (not results/model/models.md: not every file is a shipped one)" in printed
    assert f"Timing 1/1: {RUN}_my_own_model ({run_file})" in printed.splitlines()[1]
    written = page.read_text()
    assert written.startswith("# Model files side by side")
    assert f"| {RUN}_my_own_model | vgg |" in written

    shipped = compose_config("compare_models", [])  # the shipped files: their page, as before
    assert compare_models.output_page(shipped, model_paths_option(shipped.model_paths)) == shipped_page
    explicit = compose_config("compare_models", [f"model_paths=[{run_file}]", f"output={shipped_page}"])
    assert compare_models.output_page(explicit, model_paths_option(explicit.model_paths)) == shipped_page


def test_robustness_report_of_a_runs_file_writes_into_its_own_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(0)
    run_file = tmp_path / RUN / "model" / "my_own_model.pkl"
    export_model(VGGNet(widths=[8, 16], convs_per_stage=1), Preprocessing(tta="center"), run_file)
    data = tmp_path / "fer"
    data.mkdir()
    write_fer_csv(data / "test_with_emotions.csv", 14, seed=3)
    images = load_fer_csv(data / "test_with_emotions.csv").images
    predictor = EmotionPredictor(run_file, bf16=False)
    source = int(np.bincount(predictor.predict_proba(images).argmax(axis=1), minlength=7).argmax())
    names = predictor.class_names
    out = tmp_path / "hack"
    shipped = shipped_outputs(out, ["robustness.md", "robustness.png"])  # the shipped model's, in output_dir
    cfg = OmegaConf.load(PROJECT_ROOT / "configs" / "robustness_report.yaml")
    del cfg["defaults"]
    settings = {"model_path": str(run_file), "data_dir": str(data), "output_dir": str(out), "tta": "center"}
    settings |= {"source": names[source], "target": names[(source + 1) % 7], "budgets": [1], "limit": 1, "steps": 2}
    assert robustness_report.run(OmegaConf.merge(cfg, settings)) == 0, capsys.readouterr().err
    assert contents(out, ["robustness.md", "robustness.png"]) == shipped
    folder = out / f"{RUN}_my_own_model"
    assert sorted(p.name for p in folder.iterdir()) == ["robustness.md", "robustness.png"]
    assert f"wrote {folder / 'robustness.md'}" in capsys.readouterr().out
