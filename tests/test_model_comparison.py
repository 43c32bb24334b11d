"""The scratch-vs-pretrained table: recorded accuracy, parameters, size and measured ms per face."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from facial_emotion.core.model_file import update_model_metrics
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.model_comparison import compare_model, markdown_table
from facial_emotion.export.exporter import export_model
from facial_emotion.models.timm_backbone import TimmBackbone
from facial_emotion.models.vgg import VGGNet
from facial_emotion.tasks import compare_models
from facial_emotion.tasks.predict import plot_prefix
from tests.conftest import CONFIG_DIR


def test_table_reports_recorded_accuracy_size_and_timings(tmp_path: Path) -> None:
    torch.manual_seed(0)
    scratch = VGGNet(widths=[8, 16], convs_per_stage=1)
    pretrained = TimmBackbone(input_size=48)
    run = tmp_path / "run" / "model"  # a training run's files, named as the shipped ones
    export_model(scratch, Preprocessing(crop_size=40, tta="ten_crop"), run / "my_own_model.pkl")
    export_model(pretrained, Preprocessing(crop_size=40, tta="center"), run / "pre_trained_model.pkl")
    update_model_metrics(
        run / "my_own_model.pkl", {"test/acc": 0.7123, "test/acc_public": 0.7, "test/acc_private": 0.72}
    )

    rows = [compare_model(run / name, batches=(1, 4)) for name in ("my_own_model.pkl", "pre_trained_model.pkl")]

    assert rows[0].parameters == sum(p.numel() for p in scratch.parameters())
    assert rows[1].parameters == sum(p.numel() for p in pretrained.parameters()) > 2_000_000
    assert rows[1].file_mb > 8 > rows[0].file_mb
    assert set(rows[0].ms_per_face) == {"ten_crop b1", "ten_crop b4", "center b1", "center b4"}
    assert set(rows[1].ms_per_face) == {"center b1", "center b4"}
    assert all(ms > 0 for row in rows for ms in row.ms_per_face.values())
    table = markdown_table(rows).splitlines()
    assert len(table) == 4 and table[2].startswith("| run_my_own_model | vgg | 71.23% | 70.00% | 72.00% |")
    assert table[3].startswith("| run_pre_trained_model | mobilenetv2_100 | - | - | - |")
    header, pretrained_cells = (line.strip("| ").split(" | ") for line in (table[0], table[3]))
    assert pretrained_cells[header.index("ms/face ten_crop b1")] == "-"  # a centre-only model is not ten-cropped


def test_second_model_plots_never_overwrite_the_shipped_ones() -> None:
    assert plot_prefix(PROJECT_ROOT / "results" / "model" / "my_own_model.pkl") == ""
    assert plot_prefix(PROJECT_ROOT / "results" / "model" / "pre_trained_model.pkl") == "pre_trained_model_"
    assert plot_prefix(Path("outputs/train/runs/r1/model/my_own_model.pkl")) == "r1_my_own_model_"


def test_compare_models_writes_its_table_as_a_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    export_model(VGGNet(widths=[8, 16], convs_per_stage=1), Preprocessing(crop_size=40), tmp_path / "a.pkl")
    update_model_metrics(tmp_path / "a.pkl", {"test/acc": 0.5, "test/acc_public": 0.25, "test/acc_private": 0.75})
    page = tmp_path / "out" / "models.md"
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(
            "compare_models", [f"model_paths=[{tmp_path / 'a.pkl'}]", "batches=[1]", "repeats=2", f"output={page}"]
        )
    assert cfg.output == str(page)

    compare_models.run(cfg)

    printed = capsys.readouterr().out
    table = [line for line in printed.splitlines() if line.startswith("|")]
    written = page.read_text().splitlines()
    assert written[0] == "# Model files side by side"  # not the shipped files: not the shipped page's title
    assert [line for line in written if line.startswith("|")] == table  # the page holds the printed table
    assert table[2].startswith("| a | vgg | 50.00% | 25.00% | 75.00% |")
    hardware = printed.splitlines()[0].removeprefix("Hardware: ")
    assert hardware in " ".join(written) and "median of 2 calls" in " ".join(written)


def test_compare_models_writes_nothing_when_output_is_null(tmp_path: Path) -> None:
    export_model(VGGNet(widths=[8, 16], convs_per_stage=1), Preprocessing(crop_size=40), tmp_path / "a.pkl")
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(
            "compare_models", [f"model_paths=[{tmp_path / 'a.pkl'}]", "batches=[1]", "repeats=2", "output=null"]
        )
    compare_models.run(cfg)
    assert list(tmp_path.iterdir()) == [tmp_path / "a.pkl"]


@pytest.mark.parametrize(
    ("repeats", "message"),
    [("0", "repeats must be a whole number >= 1, got 0"), ("abc", "repeats must be a whole number, got 'abc'")],
)
def test_compare_models_refuses_a_repeat_count_that_times_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repeats: str, message: str
) -> None:
    """repeats=0 wrote "nan" ms/face into the page; repeats=abc was a traceback."""
    export_model(VGGNet(widths=[8, 16], convs_per_stage=1), Preprocessing(crop_size=40), tmp_path / "a.pkl")
    page = tmp_path / "models.md"
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(
            "compare_models",
            [f"model_paths=[{tmp_path / 'a.pkl'}]", "batches=[1]", f"repeats={repeats}", f"output={page}"],
        )
    with pytest.raises(SystemExit) as stop:
        compare_models.run(cfg)
    assert stop.value.code == 2 and capsys.readouterr().err.strip() == f"error: {message}"
    assert not page.exists()


def test_one_model_path_without_brackets_and_an_output_that_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`model_paths=a.pkl` was read character by character ("/ is a folder"); an output under a file was a
    traceback after every file had been timed."""
    export_model(VGGNet(widths=[8, 16], convs_per_stage=1), Preprocessing(crop_size=40), tmp_path / "a.pkl")
    (tmp_path / "a_file").write_text("in the way")
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        one = compose(
            "compare_models", [f"model_paths={tmp_path / 'a.pkl'}", "batches=[1]", "repeats=1", "output=null"]
        )
        blocked = compose(
            "compare_models",
            [f"model_paths=[{tmp_path / 'a.pkl'}]", "batches=[1]", "repeats=1", f"output={tmp_path}/a_file/m.md"],
        )
    compare_models.run(one)
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(table) == 3 and table[2].startswith("| a | vgg | - |")
    with pytest.raises(SystemExit) as stop:
        compare_models.run(blocked)
    captured = capsys.readouterr()
    assert stop.value.code == 2 and "Hardware" not in captured.out  # refused before any timing
    assert captured.err == f"error: output={tmp_path}/a_file/m.md: cannot make its folder (File exists)\n"
