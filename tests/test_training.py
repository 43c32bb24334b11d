"""Training, resuming, exporting and evaluating with the real configs on tiny synthetic data."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict

from facial_emotion.core.crop_geometry import CropGeometry
from facial_emotion.core.early_exit import parse_early_exit
from facial_emotion.core.model_file import ModelFileError, save_model_file, write_model_payload
from facial_emotion.core.preprocessing import TTA_MODES, views_within_all
from facial_emotion.data.fer_csv import FERDataError
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.evaluation.model_comparison import compare_model, markdown_table
from facial_emotion.inference.predictor import EmotionPredictor
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks import predict
from facial_emotion.tasks.train import train
from tests.conftest import compose_train_config, train_script_error

LANDMARK_GEOMETRY = CropGeometry("landmarks", ((16.0, 19.0), (32.5, 18.5), (24.0, 28.5), (17.5, 37.0), (31.0, 37.0)))
CONFIG_GROUPS = {
    "model": ["vgg_small", "vgg_large", "timm_mobilenetv2"],
    "augmentation": ["default", "light", "mixup", "real_camera"],
    "optimizer": ["sgd", "adamw"],
    "scheduler": ["onecycle", "cosine"],
    "experiment": [
        "fer_vgg_small",
        "fer_vgg_large",
        "fer_vgg_large_mixup",
        "fer_vgg_large_finetune",
        "fer_vgg_large_swa",
        "fer_vgg_large_realfaces",
    ],
}


@pytest.mark.parametrize(("group", "option"), [(g, o) for g, opts in CONFIG_GROUPS.items() for o in opts])
def test_every_config_option_composes_and_instantiates(tmp_path: Path, fer_dir: Path, group: str, option: str) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, [f"{group}={option}"])
    module = instantiate(cfg.model)
    optimizer_config = module.configure_optimizers.__func__  # built lazily; check the partials are callable
    assert callable(module.optimizer_factory) and optimizer_config
    logits = module(torch.zeros(2, 1, 40, 40))
    assert logits.shape == (2, 7)


@pytest.mark.parametrize("trainer", ["cpu", "gpu", "ddp"])
def test_trainer_configs_compose(tmp_path: Path, fer_dir: Path, trainer: str) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, [f"trainer={trainer}"])
    assert cfg.trainer.accelerator in ("cpu", "gpu")
    assert cfg.trainer.precision in ("32-true", "bf16-mixed", "16-mixed")


def test_fit_test_export_and_reload_give_identical_predictions(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.max_epochs=2", "augmentation.eval.tta=ten_crop"])
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0 and "val/acc_best" in metrics
    model_path = Path(cfg.export.path)
    loaded = load_model_file(model_path)
    assert loaded.preprocessing.tta == "ten_crop" and loaded.training["epochs_completed"] == 2
    assert loaded.temperature > 0 and "scripts/train.py" in loaded.training["command"]
    assert loaded.metrics["test/acc"] == pytest.approx(metrics["test/acc"])  # the whole test set: recorded
    assert set(loaded.temperatures) == set(TTA_MODES) and loaded.temperature == loaded.temperatures["ten_crop"]
    assert EmotionPredictor(model_path, tta="center").temperature == loaded.temperatures["center"]
    assert sorted(p.name for p in model_path.parent.glob("*.pkl")) == ["my_own_model.pkl"], "side files left"
    assert not (model_path.parent / ".cache").exists(), "the graph the temperatures were fitted with was left"
    assert model_path.with_name("my_own_model_architecture.txt").read_text().startswith("Architecture: vgg")
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    first = EmotionPredictor(model_path, bf16=False).predict_proba(faces)
    second = EmotionPredictor(model_path, bf16=False).predict_proba(faces)
    np.testing.assert_allclose(first, second, atol=1e-6)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, atol=1e-5)
    raw = torch.load(model_path, weights_only=True)
    assert set(raw) >= {"architecture", "state_dict", "class_names", "preprocessing", "metrics", "training"}


def test_an_export_leaves_its_model_folder_and_the_temp_dir_as_it_found_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temperatures are fitted with an ONNX graph of a side copy of the file: it was cached in
    `<run>/model/.cache/`, beside the files users copy, under the side copy's name (never read again)."""
    import tempfile

    from facial_emotion.core.preprocessing import Preprocessing
    from facial_emotion.export.exporter import export_model
    from facial_emotion.models.vgg import VGGNet

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    model_dir = tmp_path / "run" / "model"
    model_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (20, 48, 48), dtype=np.uint8), rng.integers(0, 7, 20)
    torch.manual_seed(0)
    net = VGGNet(widths=(8, 16), convs_per_stage=1)
    model = export_model(net, Preprocessing(), model_dir / "m.pkl", images, labels)
    assert model.temperatures and [p.name for p in model_dir.iterdir()] == ["m.pkl"]
    assert not list(temp.iterdir()), "the side copy or its graph was left in the temp dir"


def test_a_run_that_tests_a_few_batches_records_no_test_figures(tmp_path: Path, fer_dir: Path) -> None:
    """42 test rows in batches of 32: one batch is part of the test set, whose figure must not read as all of it."""
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.limit_test_batches=1"])
    metrics = train(cfg)
    assert "test/acc" in metrics  # the run itself still reports what it measured
    loaded = load_model_file(Path(cfg.export.path))
    assert not [name for name in loaded.metrics if name.startswith("test/")] and "val/acc" in loaded.metrics
    row = compare_model(Path(cfg.export.path), batches=(1,), repeats=1)
    assert "| - | - | - |" in markdown_table([row])  # shown as not measured, not as the test set's accuracy


class StopAfterFirstEpoch(L.Callback):
    """Ends fit after epoch 0, as a run killed after its first checkpoint would."""

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.should_stop = True


def test_resume_continues_from_last_checkpoint(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.max_epochs=2", "test=false"])
    with open_dict(cfg):
        cfg.callbacks.stop = {"_target_": "tests.test_training.StopAfterFirstEpoch"}
    train(cfg)
    last = Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0
    metrics_csv = Path(cfg.paths.output_dir) / "csv" / "metrics.csv"
    assert {row["epoch"] for row in csv.DictReader(metrics_csv.open()) if row.get("val/acc")} == {"0"}
    with open_dict(cfg):
        del cfg.callbacks.stop
        cfg.ckpt_path = str(last)
    train(cfg)
    state = torch.load(last, weights_only=True)
    assert state["epoch"] == 1 and state["global_step"] == 2 * (126 // 16)
    training = load_model_file(Path(cfg.export.path)).training
    assert training["resumes"] == 1 and training["epochs_completed"] == 2
    rows = list(csv.DictReader(metrics_csv.open()))
    assert {row["epoch"] for row in rows if row.get("val/acc")} == {"0", "1"}, "resuming lost the logged epochs"


class RunsCode:
    """A pickled object that runs a command when unpickled, as a doctored checkpoint would."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_checkpoints_are_loaded_safely_and_must_fit_the_run(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["test=false"])
    train(cfg)
    last = Path(cfg.callbacks.model_checkpoint.dirpath) / "last.ckpt"
    with pytest.raises(ModelFileError, match=f"{Path(cfg.paths.output_dir)} already holds a run: resume it"):
        train(cfg)  # training into it again would replace its checkpoints and model file
    marker = tmp_path / "code-ran"
    torch.save({"pytorch-lightning_version": "2", "state_dict": {}, "x": RunsCode(marker)}, tmp_path / "doctored.ckpt")
    wider = compose_train_config(tmp_path, fer_dir, ["model.net.widths=[8,32]", "test=false"])
    with open_dict(wider):  # resumed in the run's own folder, as its resume command says
        wider.paths.output_dir, wider.export.path = cfg.paths.output_dir, cfg.export.path
        wider.callbacks.model_checkpoint.dirpath = cfg.callbacks.model_checkpoint.dirpath
    for path, message in [
        (tmp_path / "doctored.ckpt", "is not a checkpoint that loads safely"),
        (Path(cfg.export.path), "is not a training checkpoint \\(a model file: start from it with init_from=\\)"),
        (last, "holds another network than this configuration .*overrides.yaml"),
    ]:
        with open_dict(wider):
            wider.ckpt_path = str(path)
        with pytest.raises(ModelFileError, match=message):
            train(wider)
    assert not marker.exists(), "loading the checkpoint ran code from it"


def test_a_bad_test_file_stops_the_run_before_training(tmp_path: Path, fer_dir: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(fer_dir, data)
    packed = data / "test_with_emotions.csv.gz"
    lines = gzip.decompress(packed.read_bytes()).decode().splitlines()
    packed.unlink()
    (data / "test_with_emotions.csv").write_text("\n".join([*lines[:3], "3,1 2 3", *lines[3:]]) + "\n")
    cfg = compose_train_config(tmp_path, data, [])
    with pytest.raises(FERDataError, match="test_with_emotions.csv, line 4: pixel string has 3 values"):
        train(cfg)
    assert not Path(cfg.callbacks.model_checkpoint.dirpath).exists(), "it trained before reading the test file"


class RecordLastCheckpointEpoch(L.Callback):
    """At each epoch start, notes which epoch last.ckpt holds (what a run killed right then would resume)."""

    seen: list[int] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        last = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
        if trainer.current_epoch > 0:
            RecordLastCheckpointEpoch.seen.append(torch.load(last, weights_only=True)["epoch"])


def test_last_checkpoint_is_written_after_every_epoch_even_without_improvement(tmp_path: Path, fer_dir: Path) -> None:
    # val/acc_best never decreases, so with mode=min no epoch after the first is an improvement.
    overrides = [
        "trainer.max_epochs=3",
        "test=false",
        "callbacks.model_checkpoint.monitor=val/acc_best",
        "callbacks.model_checkpoint.mode=min",
        "callbacks.early_stopping=null",
    ]
    cfg = compose_train_config(tmp_path, fer_dir, overrides)
    with open_dict(cfg):
        cfg.trainer.default_root_dir = str(tmp_path / "run")
        cfg.callbacks.record = {"_target_": "tests.test_training.RecordLastCheckpointEpoch"}
    RecordLastCheckpointEpoch.seen = []
    train(cfg)
    assert RecordLastCheckpointEpoch.seen == [0, 1]
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["epoch_000.ckpt", "last.ckpt"]


def test_second_stage_starts_from_the_first_stages_weights(tmp_path: Path, fer_dir: Path) -> None:
    first = compose_train_config(tmp_path / "first", fer_dir, ["experiment=fer_vgg_large_mixup", "test=false"])
    train(first)
    first_model = load_model_file(Path(first.export.path))
    first_model.crop_geometry = LANDMARK_GEOMETRY  # as recorded in the shipped files
    save_model_file(Path(first.export.path), first_model)
    # lr 0: the second stage's weights can only be the first stage's (BN statistics still move)
    second = compose_train_config(
        tmp_path / "second",
        fer_dir,
        ["experiment=fer_vgg_large_finetune", f"init_from={first.export.path}", "optimizer.lr=0", "test=false"],
    )
    train(second)
    second_model = load_model_file(Path(second.export.path))
    for name, weight in first_model.net.state_dict().items():
        if name.endswith("weight") and weight.dim() > 1:
            torch.testing.assert_close(second_model.net.state_dict()[name], weight)
    assert second_model.training["init_from"]["path"] == first.export.path
    assert second_model.training["init_from"]["seed"] == first.seed == 42
    assert second_model.crop_geometry == LANDMARK_GEOMETRY, "a fine-tune must cut real faces as its start did"

    other = compose_train_config(tmp_path / "other", fer_dir, ["model=vgg_small", f"+init_from={first.export.path}"])
    with pytest.raises(ModelFileError, match=r"holds vgg, but this run builds it with other options \(model.net.convs"):
        train(other)


def test_swa_stage_validates_and_keeps_the_weight_average(tmp_path: Path, fer_dir: Path) -> None:
    first = compose_train_config(tmp_path / "first", fer_dir, ["model=vgg_large", "test=false"])
    train(first)
    swa = compose_train_config(
        tmp_path / "swa", fer_dir, ["experiment=fer_vgg_large_swa", f"init_from={first.export.path}", "test=false"]
    )
    with open_dict(swa):
        swa.trainer.max_epochs = 3
    train(swa)
    rows = list(csv.DictReader((Path(swa.paths.output_dir) / "csv" / "metrics.csv").open()))
    # epochs 0-2 train; epoch 3 only recomputes BatchNorm statistics for the average, then validates it
    assert sorted({int(row["epoch"]) for row in rows if row.get("val/acc")}) == [0, 1, 2, 3]
    epoch_lrs = [float(row["lr-SGD"]) for row in rows if row.get("lr-SGD")]  # one per epoch, in order
    assert epoch_lrs[1:3] == pytest.approx([0.01, 0.01]), "the cosine schedule was not swapped for SWA's"
    assert load_model_file(Path(swa.export.path)).training["init_from"]["path"] == first.export.path


@pytest.mark.parametrize(
    ("init_from", "message"), [([], "give init_from=<its model file>"), (["init_from=missing.pkl"], "not found")]
)
def test_second_stage_without_its_model_file_is_a_one_line_error(
    tmp_path: Path, fer_dir: Path, init_from: list[str], message: str
) -> None:
    error = train_script_error(tmp_path / "run", fer_dir, ["experiment=fer_vgg_large_finetune", *init_from])
    assert message in error


def test_model_file_loading_refuses_pickled_objects(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pkl"
    torch.save({"format": "facial-emotion-model/1", "payload": Evil()}, path)
    with pytest.raises(ModelFileError, match="not a loadable model file .*running code from the file") as refused:
        load_model_file(path)
    assert "weights_only" not in str(refused.value)  # never PyTorch's advice to load it unsafely
    (tmp_path / "text.pkl").write_text("hello")
    with pytest.raises(ModelFileError, match=r"text.pkl is not a model file \(text\)$"):  # was "not a PyTorch file"
        load_model_file(tmp_path / "text.pkl")
    with pytest.raises(ModelFileError, match="not found"):
        load_model_file(tmp_path / "missing.pkl")
    torch.save({"format": "facial-emotion-model/1", "state_dict": {}}, tmp_path / "partial.pkl")
    with pytest.raises(ModelFileError, match="incomplete model file \\(no architecture, class_names, preprocessing\\)"):
        load_model_file(tmp_path / "partial.pkl")
    whole = (PROJECT_ROOT / "results" / "model" / "my_own_model.pkl").read_bytes()
    (tmp_path / "cut.pkl").write_bytes(whole[: len(whole) // 2])  # a copy or download cut short
    with pytest.raises(ModelFileError, match=r"cut.pkl is not a loadable model file \(truncated or damaged: not a "):
        load_model_file(tmp_path / "cut.pkl")  # was PyTorch's paragraph about miniz and central directories


def test_two_writers_of_one_model_file_do_not_rename_each_others_temporary_file(tmp_path: Path) -> None:
    """calibrate.py and predict.py record_metrics=true may rewrite one file at once: with one shared temporary
    name the second rename found it gone (FileNotFoundError)."""
    path = tmp_path / "model.pkl"
    errors: list[BaseException] = []

    def write(value: float) -> None:
        try:
            for _ in range(30):
                write_model_payload(path, {"value": torch.full((256, 256), value)})
        except BaseException as error:  # noqa: BLE001 - any failure of a writer fails the test below
            errors.append(error)

    writers = [threading.Thread(target=write, args=(float(n),)) for n in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    assert torch.load(path, weights_only=True)["value"].shape == (256, 256)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]  # no temporary file left behind


def test_predict_script_prints_accuracy_first(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["test=false"])
    train(cfg)
    result = subprocess.run(
        [
            sys.executable,
            "scripts/predict.py",
            f"model_path={cfg.export.path}",
            f"data_dir={fer_dir}",
            f"plots_dir={tmp_path / 'plots'}",
            f"report_dir={tmp_path / 'reports'}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Accuracy on test set: ") and lines[0].endswith("%")
    assert any(line.startswith("PublicTest accuracy:") for line in lines)
    prefix = predict.plot_prefix(Path(cfg.export.path))  # a run's file: its run's name first, never the shipped names
    assert prefix.endswith("_my_own_model_") and (tmp_path / "plots" / f"{prefix}calibration.png").stat().st_size > 0

    # The Markdown page holds the printed figures: read it back and compare.
    markdown = (tmp_path / "reports" / f"{prefix}test_report.md").read_text().splitlines()
    assert markdown[0].startswith("# Test report: ") and markdown[0].endswith("my_own_model.pkl")
    printed = {line.split(":")[0]: line.split(": ")[1].split("%")[0] for line in lines if "accuracy: " in line}
    exact = lines[1].split(": ")[1].split("%")[0]
    assert f"| all test rows | 42 | **{exact}%** |" in markdown
    assert f"| PublicTest | 42 | {printed['PublicTest accuracy']}% |" in markdown  # the first 3589 rows: all 42
    assert printed["PrivateTest accuracy"] == "-" and "| PrivateTest | 0 | - |" in markdown  # no rows: was nan%
    per_class = [line for line in lines if line.startswith("  ") and line.endswith("images)")]
    for printed_line in per_class:
        name, acc, count = printed_line.split()[0], printed_line.split()[1], printed_line.split("(")[1].split()[0]
        assert f"| {name} | {count} | {acc} |" in markdown
    confusion_rows = [line for line in markdown if line.startswith("| **")]
    assert len(confusion_rows) == 7 and sum(sum(map(int, r.strip("| ").split(" | ")[1:])) for r in confusion_rows) == 42


def test_calibrate_script_refits_the_temperatures_of_an_older_file(tmp_path: Path, fer_dir: Path) -> None:
    cfg = compose_train_config(tmp_path, fer_dir, ["test=false", "augmentation.eval.tta=ten_crop"])
    train(cfg)
    model_path = Path(cfg.export.path)
    exported = load_model_file(model_path)
    exported_temperatures = dict(exported.temperatures)
    stages = parse_early_exit(exported.preprocessing.early_exit)  # chosen at export, on the same validation views
    assert len(exported.preprocessing.early_exit_temperatures) == (len(stages) + 1 if stages else 0)
    exported.temperatures, exported.temperature = {}, 3.0  # as written before per-mode temperatures
    save_model_file(model_path, exported)
    assert EmotionPredictor(model_path, tta="center").temperature == 3.0

    command = [sys.executable, "scripts/calibrate.py", f"paths.data_dir={fer_dir}", f"paths.cache_dir={tmp_path}"]
    command.append("min_faces=0")  # 14 validation faces
    result = subprocess.run(
        [*command, f"model_path={model_path}", "tta=multi_scale_hflip"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[1 : 1 + len(TTA_MODES)]
    assert [row.split()[0] for row in rows] == list(TTA_MODES)
    assert [row.endswith("(the file's default)") for row in rows] == [m == "multi_scale_hflip" for m in TTA_MODES]
    refitted = load_model_file(model_path)
    assert refitted.temperatures == pytest.approx(exported_temperatures, rel=1e-6)
    assert refitted.preprocessing.tta == "multi_scale_hflip"
    assert refitted.temperature == refitted.temperatures["multi_scale_hflip"]
    # The early exit is chosen for the new default views: cheaper stages whose views are among its four.
    assert "Early exit: " in result.stdout
    for mode, _ in parse_early_exit(refitted.preprocessing.early_exit):
        assert set(views_within_all(mode)) < set(views_within_all("multi_scale_hflip"))

    assert refitted.preprocessing.live_view == "zoomed_center"  # what files recorded before choosing one
    assert EmotionPredictor(model_path, tta="live").tta == "zoomed_center"
    live = subprocess.run(
        [*command, f"model_path={model_path}", "live_view=center", "refit_temperatures=false", "early_exit=file"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert live.returncode == 0, live.stderr
    assert [r.endswith("(the live view)") for r in live.stdout.splitlines()[1 : 1 + len(TTA_MODES)]] == [
        m == "center" for m in TTA_MODES
    ]
    relive = load_model_file(model_path)
    assert relive.preprocessing == dataclasses.replace(refitted.preprocessing, live_view="center")  # exit kept
    assert relive.temperatures == refitted.temperatures
    live_predictor = EmotionPredictor(model_path, tta="live")
    assert live_predictor.tta == "center" and live_predictor.temperature == relive.temperatures["center"]
    refitted = relive

    bad_policy = subprocess.run(
        [*command, f"model_path={model_path}", "early_exit=center@2"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert bad_policy.returncode == 2 and bad_policy.stderr.strip().count("\n") == 0
    assert "between 0 and 1" in bad_policy.stderr
    assert load_model_file(model_path).preprocessing == refitted.preprocessing  # nothing written

    for option in ("tta=five_crop", "live_view=five_crop"):
        unknown = subprocess.run(
            [*command, f"model_path={model_path}", option], cwd=PROJECT_ROOT, capture_output=True, text=True
        )
        assert unknown.returncode == 2 and unknown.stderr.strip().count("\n") == 0
        assert unknown.stderr.startswith(f"error: {option.split('=')[0]} must be") and "five_crop" in unknown.stderr

    missing = subprocess.run(
        [*command, f"model_path={tmp_path / 'missing.pkl'}"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0 and "not found" in missing.stderr


def test_predict_script_bad_model_file_is_one_line(tmp_path: Path, fer_dir: Path) -> None:
    (tmp_path / "bad.pkl").write_text("not a model")
    result = subprocess.run(
        [
            sys.executable,
            "scripts/predict.py",
            f"model_path={tmp_path / 'bad.pkl'}",
            f"data_dir={fer_dir}",
            "plots_dir=null",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "bad.pkl" in result.stderr


def test_predict_record_metrics_is_read_as_a_yes_or_no(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with initialize_config_dir(version_base="1.3", config_dir=str(PROJECT_ROOT / "configs")):
        cfg = compose("predict", [f"model_path={tmp_path / 'missing.pkl'}", "record_metrics=maybe"])
    assert predict.run(cfg) == 2  # before the model file is read
    assert capsys.readouterr().err == "error: record_metrics must be true or false, got 'maybe'\n"


def test_ddp_config_trains_with_two_cpu_processes(tmp_path: Path, fer_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "scripts/train.py",
            "trainer=ddp",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "trainer.precision=32-true",
            "trainer.sync_batchnorm=false",
            "trainer.max_epochs=1",
            "model.net.widths=[8,16]",
            "logger=csv",
            "data.batch_size=16",
            f"paths.data_dir={fer_dir}",
            f"paths.cache_dir={tmp_path / 'cache'}",
            f"hydra.run.dir={tmp_path / 'ddp'}",
            "test=false",
            "callbacks.progress_bar=null",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "ddp" / "model" / "my_own_model.pkl").is_file()
    assert "GLOBAL_RANK: 1" in result.stderr + result.stdout or "distributed_backend=gloo" in result.stderr
