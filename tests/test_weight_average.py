"""Weight-space averaging of model files (WiSE-FT): the mean itself, its refusals, and the script end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from facial_emotion.core.model_file import read_model_payload
from facial_emotion.core.preprocessing import Preprocessing
from facial_emotion.data.locate import PROJECT_ROOT
from facial_emotion.export.exporter import export_model
from facial_emotion.export.weight_average import WeightAverageError, average_model_files, mixture_weights
from facial_emotion.models.loading import load_model_file
from facial_emotion.models.vgg import VGGNet


def tiny_model_file(
    path: Path, seed: int, widths: tuple[int, ...] = (8, 16), preprocessing: Preprocessing | None = None
) -> Path:
    torch.manual_seed(seed)
    net = VGGNet(widths=widths, convs_per_stage=1)
    with torch.no_grad():  # batch-norm statistics that differ between the files, as after training
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_()
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(seed + 1)
    preprocessing = preprocessing or Preprocessing(tta="center", early_exit=f"center@0.{seed + 5}")
    export_model(net, preprocessing, path, training={"command": f"train seed {seed}"})
    return path


def test_mixture_weights_sum_to_one_and_refuse_what_is_not_a_mixture() -> None:
    assert mixture_weights(None, 4) == [0.25] * 4
    assert mixture_weights([1, 3], 2) == [0.25, 0.75]
    for weights, count, message in [
        (None, 1, "at least two"),
        ([0.5, 0.5], 3, "one weight per file"),
        ([1.0, -0.5], 2, ">= 0"),
        ([0.0, 0.0], 2, "positive sum"),
        (["a", "b"], 2, r"must be numbers, got \['a', 'b'\]"),  # weights=[a,b]: a ValueError traceback
        ([float("nan"), 1.0], 2, "must be numbers"),
        (0.5, 2, "must be a list of one number per file"),  # weights=0.5: a TypeError traceback
        ("0.5,0.5", 2, "must be a list"),
    ]:
        with pytest.raises(WeightAverageError, match=message):
            mixture_weights(weights, count)


def test_the_average_is_the_weighted_mean_of_every_float_tensor(tmp_path: Path) -> None:
    first, second = tiny_model_file(tmp_path / "a.pkl", 0), tiny_model_file(tmp_path / "b.pkl", 1)
    payload = average_model_files([first, second], [1.0, 3.0], "the command")
    a, b = read_model_payload(first)["state_dict"], read_model_payload(second)["state_dict"]
    assert payload["state_dict"].keys() == a.keys()
    for key, tensor in payload["state_dict"].items():
        if tensor.is_floating_point():
            torch.testing.assert_close(tensor, 0.25 * a[key] + 0.75 * b[key], atol=1e-6, rtol=1e-6)
            assert not torch.equal(tensor, a[key])  # the files really differ everywhere averaged
        else:
            assert torch.equal(tensor, a[key])  # batch counts: the first file's
    assert payload["metrics"] == {}
    assert payload["preprocessing"]["early_exit"] == "center@0.5"  # the first file's until calibrated again
    sources = payload["training"]["weight_average"]
    assert [(s["path"], s["weight"], s["training"]["command"]) for s in sources] == [
        (str(first), 0.25, "train seed 0"),
        (str(second), 0.75, "train seed 1"),
    ]


def test_files_of_different_networks_are_refused_naming_the_file(tmp_path: Path) -> None:
    first, other = tiny_model_file(tmp_path / "a.pkl", 0), tiny_model_file(tmp_path / "wide.pkl", 1, (8, 32))
    with pytest.raises(WeightAverageError, match=r"wide\.pkl differs .* in its architecture"):
        average_model_files([first, other], None, "command")
    brighter = tiny_model_file(tmp_path / "brighter.pkl", 1, preprocessing=Preprocessing(mean=0.6))
    with pytest.raises(WeightAverageError, match=r"brighter\.pkl differs .* in its input mean"):
        average_model_files([first, brighter], None, "command")


def test_script_writes_a_recalibrated_average_and_one_line_errors(tmp_path: Path, fer_dir: Path) -> None:
    first, second = tiny_model_file(tmp_path / "a.pkl", 0), tiny_model_file(tmp_path / "b.pkl", 1)
    output = tmp_path / "soup" / "average.pkl"
    command = [sys.executable, "scripts/average_models.py", f"paths.data_dir={fer_dir}", f"paths.cache_dir={tmp_path}"]
    command.append("min_faces=0")  # calibrated on 14 validation faces

    def average(*overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *overrides], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)

    result = average(f"model_paths=[{first},{second}]", "weights=[1,1]", f"output={output}")
    assert result.returncode == 0, result.stderr
    assert f"Wrote {output}: 0.500 x {first}, 0.500 x {second}" in result.stdout
    assert "Validation split:" in result.stdout and "Wrote the temperatures into" in result.stdout
    averaged = load_model_file(output)
    assert averaged.training["command"].startswith("python scripts/average_models.py 'model_paths=[")
    assert [source["weight"] for source in averaged.training["weight_average"]] == [0.5, 0.5]
    assert set(averaged.temperatures) >= {"center", "multi_scale_ten_crop"}  # fitted for the averaged network
    with torch.no_grad():
        assert torch.isfinite(averaged.net.eval()(torch.rand(2, 1, 40, 40))).all()

    wide = tiny_model_file(tmp_path / "wide.pkl", 2, (8, 32))
    refusals = [
        (average(f"model_paths=[{first},{wide}]", f"output={tmp_path / 'x.pkl'}"), "architecture"),
        (average(f"model_paths=[{first},{second}]", f"output={first}"), "one of the model files"),
        (average(f"model_paths=[{first},{tmp_path / 'missing.pkl'}]", f"output={tmp_path / 'x.pkl'}"), "not found"),
        (average(f"model_paths=[{first}]", f"output={tmp_path / 'x.pkl'}"), "at least two"),
        (average(f"model_paths=[{first},{second}]"), "output="),
        (average(f"model_paths=[{first},{second}]", "weights=0.5", f"output={tmp_path / 'x.pkl'}"), "a list"),
        (average(f"model_paths=[{first},{second}]", "weights=[a,b]", f"output={tmp_path / 'x.pkl'}"), "numbers"),
        (average(f"model_paths={first}", f"output={tmp_path / 'x.pkl'}"), "model_paths=[A.pkl,B.pkl,...]"),
        (average(f"model_paths=[{first},{second}]", f"output={first}/x.pkl"), f"output={first}/x.pkl: cannot make"),
        (average("model_paths=[5,6]", f"output={tmp_path / 'x.pkl'}"), "model file not found: 5"),
    ]
    for refused, reason in refusals:
        assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0, refused.stderr
        assert reason in refused.stderr
    assert not (tmp_path / "x.pkl").exists()
    assert read_model_payload(first)["training"] == {"command": "train seed 0"}  # sources untouched
    uncalibrated = tmp_path / "no_data.pkl"  # no FER2013 to fit temperatures on: no file that looks finished
    refused = average(
        f"model_paths=[{first},{second}]", f"output={uncalibrated}", f"paths.data_dir={tmp_path / 'none'}"
    )
    assert refused.returncode == 2 and "removed" in refused.stderr and not uncalibrated.exists()
