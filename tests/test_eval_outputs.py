"""predict.py's options and outputs: bad paths refused before the evaluation, reports whole, figures as printed."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from facial_emotion.core.model_file import ModelFileError
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.core.whole_files import write_whole
from facial_emotion.export.exporter import export_model
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks import predict
from tests.conftest import CONFIG_DIR, write_fer_csv


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("eval_outputs") / "tiny.pkl"
    export_model(VGGNet(widths=(8, 16), convs_per_stage=1), Preprocessing(tta="center"), path)
    return path


def predict_config(model_path: Path | str, data_dir: Path, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        return compose(
            config_name="predict",
            overrides=[f"model_path={model_path}", f"data_dir={data_dir}", "backend=torch", *overrides],
        )


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.strip().splitlines() if not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Accuracy on test set" not in captured.out, "it evaluated before refusing"
    return lines[0]


@pytest.mark.parametrize("key", ["plots_dir", "report_dir"])
def test_an_output_folder_that_is_a_file_is_refused_before_the_evaluation(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    in_the_way = tmp_path / "a_file"
    in_the_way.write_text("not a folder")
    other = "report_dir" if key == "plots_dir" else "plots_dir"
    cfg = predict_config(tiny_model, tmp_path / "no_data", [f"{key}={in_the_way}", f"{other}=null"])
    assert predict.run(cfg) == 2
    assert one_line_error(capsys) == f"error: {key}={in_the_way}: it is a file, not a folder"
    assert in_the_way.read_text() == "not a folder"
    cfg = predict_config(tiny_model, tmp_path / "no_data", [f"{key}={in_the_way}/below", f"{other}=null"])
    assert predict.run(cfg) == 2
    assert f"{key}={in_the_way}/below: cannot make the folder" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model_path=5", "model file not found: 5"),
        ("model_path=[a.pkl,b.pkl]", "model_path takes one model file, got ['a.pkl', 'b.pkl']"),
        ("model_path=null", "model_path takes one model file, got None"),
        ("plots_dir=[a]", "plots_dir takes one path, got ['a']"),
        ("test_file=5", "has no 5 or 5.gz"),
    ],
)
def test_path_options_of_the_wrong_type_are_one_line(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, expected: str
) -> None:
    write_fer_csv(tmp_path / "test_with_emotions.csv", 14, seed=2)
    cfg = predict_config(tiny_model, tmp_path, ["report_dir=null", override])
    assert predict.run(cfg) == 2
    assert expected in one_line_error(capsys)


def test_the_written_report_and_plots_hold_the_printed_figures(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fer_csv(tmp_path / "test_with_emotions.csv", 28, seed=2)
    out = tmp_path / "out"
    cfg = predict_config(tiny_model, tmp_path, [f"plots_dir={out}", f"report_dir={out}"])
    assert predict.run(cfg) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Accuracy on test set: ")
    exact = re.search(r"Accuracy exact: (\d+\.\d\d)% \(28 images", printed).group(1)
    report = (out / "tiny_test_report.md").read_text()
    assert f"| all test rows | 28 | **{exact}%** |" in report
    for name in ("tiny_confusion_matrix.png", "tiny_calibration.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in out.iterdir()) == [
        "tiny_calibration.png",
        "tiny_confusion_matrix.png",
        "tiny_test_report.md",
    ]


def test_an_interrupted_write_leaves_the_earlier_file_whole(tmp_path: Path) -> None:
    report = tmp_path / "test_report.md"
    report.write_text("the earlier report\n")

    def half_then_ctrl_c(partial: Path) -> None:
        partial.write_text("# half of a new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_whole(report, half_then_ctrl_c)
    assert report.read_text() == "the earlier report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["test_report.md"]
    write_whole(report, lambda partial: partial.write_text("the new report\n"))
    assert report.read_text() == "the new report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["test_report.md"]


def test_a_checkpoint_given_as_model_path_names_its_runs_model_file(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .ckpt was "not a facial-emotion model file (no format ...)", which did not say what to give instead."""
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir(parents=True)
    torch.save({"state_dict": {"net.w": torch.zeros(2)}, "pytorch-lightning_version": "2.5"}, checkpoint)
    with pytest.raises(ModelFileError, match=r"a run exports one as <run>/model/my_own_model.pkl\)$"):
        load_model_file(checkpoint)
    exported = tmp_path / "run" / "model" / "my_own_model.pkl"
    exported.parent.mkdir()
    shutil.copy(tiny_model, exported)
    assert predict.run(predict_config(checkpoint, tmp_path, ["plots_dir=null", "report_dir=null"])) == 2
    assert one_line_error(capsys) == (
        f"error: {checkpoint} is a training checkpoint (.ckpt), not a model file: give the model file "
        f"(its run's is {exported})"
    )


def test_record_metrics_leaves_out_a_split_with_no_rows(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A test file under 3589 rows has no PrivateTest row: NaN was recorded and compare_models printed 'nan%'."""
    model = tmp_path / "copy.pkl"
    shutil.copy(tiny_model, model)
    write_fer_csv(tmp_path / "test_with_emotions.csv", 14, seed=2)
    cfg = predict_config(model, tmp_path, ["plots_dir=null", "report_dir=null", "record_metrics=true"])
    assert predict.run(cfg) == 0
    printed = capsys.readouterr().out
    assert f"Recorded the test figures in {model} (not test/acc_private: no test rows)" in printed
    metrics = torch.load(model, weights_only=True)["metrics"]
    exact = float(re.search(r"Accuracy exact: (\d+\.\d\d)%", printed).group(1))
    assert "test/acc_private" not in metrics and round(100 * metrics["test/acc"], 2) == exact
    assert all(math.isfinite(value) for value in metrics.values())


def test_record_metrics_refuses_a_policy_other_than_the_files(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """early_exit=center@0.3 record_metrics=true wrote its accuracy as the file's test/acc@early_exit."""
    model = tmp_path / "copy.pkl"
    shutil.copy(tiny_model, model)
    before = model.read_bytes()
    write_fer_csv(tmp_path / "test_with_emotions.csv", 14, seed=2)
    overrides = ["plots_dir=null", "report_dir=null", "record_metrics=true", "early_exit=center@0.3"]
    assert predict.run(predict_config(model, tmp_path, overrides)) == 2
    assert one_line_error(capsys) == (
        "error: record_metrics=true records the file's own early exit: give early_exit=file or none, not 'center@0.3'"
    )
    assert model.read_bytes() == before


def _write_reports(path: Path, text: str, times: int) -> list[str]:
    """In a process of its own: write `path` `times` times through `write_whole`; the errors."""
    errors = []
    for _ in range(times):
        try:
            write_whole(path, lambda partial: partial.write_text(text * 2000))
        except OSError as error:
            errors.append(f"{type(error).__name__}: {error}")
    return errors


def test_two_runs_writing_the_same_report_at_once_never_fail(tmp_path: Path) -> None:
    """With one temporary name for every run, the second rename found the first run's file gone."""
    import multiprocessing

    report = tmp_path / "test_report.md"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        errors = pool.starmap(_write_reports, [(report, "a", 300), (report, "b", 300)])
    assert errors == [[], []]
    assert report.read_text() in ("a" * 2000, "b" * 2000)  # one run's whole report, never a mixture
    assert [p.name for p in tmp_path.iterdir()] == ["test_report.md"]
