"""What train.py says about its test: how many faces at how many views and how to skip or shorten it, and the
command that measures a debug run's test figures as compare_models.py shows them."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf, open_dict

from facial_emotion.core.model_file import save_model_file
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.evaluation.model_comparison import compare_model
from facial_emotion.models.loading import load_model_file
from facial_emotion.tasks import predict
from facial_emotion.tasks.train import _test_line, train
from tests.conftest import compose_train_config
from tests.test_eval_outputs import predict_config


def test_the_test_says_its_faces_and_views_and_how_to_skip_it(
    tmp_path: Path, fer_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A quick run (limit_train_batches) trained seconds, then tested every test face at 20 views for minutes with
    no word on how to skip or shorten that."""
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.limit_train_batches=2", "trainer.limit_val_batches=1"])
    with open_dict(cfg):
        cfg.export.path = None
    with caplog.at_level(logging.INFO, logger="facial_emotion.tasks.train"):
        train(cfg)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("testing on")]
    assert lines == [
        "testing on the 42 test faces at 20 views each (augmentation.eval.tta=multi_scale_ten_crop); test=false "
        "skips it, trainer.limit_test_batches=N tests N of its 2 batches of 32"
    ]
    datamodule = SimpleNamespace(test_set=[0] * 100, hparams=SimpleNamespace(eval_batch_size=32))
    module = SimpleNamespace(preprocessing=Preprocessing(tta="ten_crop"))
    for trainer, shown in [
        ({"limit_test_batches": 1}, "32 of the 100 test faces (trainer.limit_test_batches=1)"),
        ({"limit_test_batches": 0.5}, "64 of the 100 test faces (trainer.limit_test_batches=0.5)"),
        ({"limit_test_batches": 9}, "100 of the 100 test faces (trainer.limit_test_batches=9)"),
        ({"fast_dev_run": True}, "32 of the 100 test faces (trainer.fast_dev_run=True)"),
    ]:
        line = _test_line(OmegaConf.create({"trainer": trainer}), datamodule, module)
        assert line == f"testing on {shown} at 10 views each (augmentation.eval.tta=ten_crop)"


def test_a_debug_runs_hint_records_the_test_figures_compare_models_shows(
    tmp_path: Path, fer_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The hint said `record_metrics=true` alone: with the file's early exit (calibrate.py adds one) predict.py then
    records test/acc@early_exit only, and compare_models.py kept showing '-'."""
    cfg = compose_train_config(tmp_path, fer_dir, ["trainer.limit_test_batches=1"])
    with caplog.at_level(logging.WARNING, logger="facial_emotion.tasks.train"):
        train(cfg)
    model_path = Path(cfg.export.path)
    hints = [r.getMessage() for r in caplog.records if "no test figures in the model file" in r.getMessage()]
    assert len(hints) == 1
    command = hints[0].split("measure them with ")[1]
    assert command == f"scripts/predict.py model_path={model_path} early_exit=none record_metrics=true"
    model = load_model_file(model_path)  # as calibrate.py leaves it: with an early exit
    model.preprocessing = dataclasses.replace(
        model.preprocessing, early_exit="center@0.3", early_exit_temperatures=(1.0, 1.0)
    )
    save_model_file(model_path, model)
    options = re.findall(r"(\S+=\S+)", command)
    assert predict.run(predict_config(model_path, fer_dir, [*options, "plots_dir=null", "report_dir=null"])) == 0
    row = compare_model(model_path, batches=(1,), repeats=1)
    assert row.accuracy["all"] is not None and row.accuracy["PublicTest"] is not None  # 42 rows: no PrivateTest
