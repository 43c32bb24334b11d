"""Static int8 quantization of an fp32 graph: calibrated on FER2013's validation split, checked on its test set.

ONNX Runtime's `quantize_static`, QDQ format, per-channel int8 weights in the reduced 7-bit range, activations
calibrated (MinMax) on the test-time views of faces from the training config's validation split (the same seeded
stratified split the temperatures are fitted on). The graph is kept only if its top-1 prediction agrees with fp32
(the fp32 graph, checked against PyTorch) on >= 99% of the centre views of the FER2013 test set.

Why 7-bit weights: on x86 CPUs without VNNI (AVX2 laptops, AVX-512 without VNNI) ONNX Runtime multiplies int8
with `vpmaddubsw`, whose 16-bit sums of two uint8 x int8 products saturate at full-range weights. The shipped
VGG's full-range graph agreed with fp32 on 91.8% of test faces on an AVX2-only AMD EPYC (99.2% with 7-bit weights)
while passing on CPUs with VNNI. With 7-bit weights no sum can saturate, so the integer arithmetic, and with it
the check, is the same on every x86 CPU.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from facial_emotion.augmentation.preprocessing import test_time_views, to_network_input
from facial_emotion.core.model_file import ModelFile
from facial_emotion.core.whole_files import private_temp_path
from facial_emotion.data.cache import load_fer_csv
from facial_emotion.data.datamodule import FERDataModule
from facial_emotion.data.locate import default_data_dir, require_csv
from facial_emotion.inference.onnx_graph import (
    DATA_MISSING_MARK,
    INPUT_NAME,
    INT8_MIN_AGREEMENT,
    GraphDataMissingError,
    GraphError,
    new_session,
    run_session,
)

CALIBRATION_FACES = 500  # validation faces; x20 views each (every view kind the predictor makes)
CALIBRATION_BATCH = 200


def normalized(model: ModelFile, images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 48, 48) -> network input (N, 1, 48, 48) as the file's preprocessing records it."""
    return to_network_input(torch.from_numpy(images).unsqueeze(1), model.preprocessing)


def calibration_views(model: ModelFile, data_dir: Path) -> np.ndarray:
    """All 20 multi-scale ten-crop views of an evenly spaced subset of the validation split."""
    datamodule = FERDataModule(data_dir=str(data_dir))
    datamodule.setup("fit")
    images = datamodule.val_set.images.squeeze(1).numpy()
    subset = images[np.linspace(0, len(images) - 1, min(CALIBRATION_FACES, len(images))).astype(int)]
    views = test_time_views(normalized(model, subset), model.preprocessing.crop_size, "multi_scale_ten_crop")
    return views.contiguous().numpy()


class _ViewReader:
    """`CalibrationDataReader` over a fixed array of views, in batches."""

    def __init__(self, views: np.ndarray) -> None:
        self._batches = iter([views[i : i + CALIBRATION_BATCH] for i in range(0, len(views), CALIBRATION_BATCH)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def test_agreement(model: ModelFile, session: object, reference: object, data_dir: Path) -> tuple[float, int]:
    """Top-1 agreement of `session` with `reference` (the fp32 graph, itself within 1e-4 of PyTorch: twice as
    fast on a CPU) on the centre view of every test face, and the count."""
    test = load_fer_csv(require_csv(data_dir, "test_with_emotions.csv"))
    views = test_time_views(normalized(model, test.images), model.preprocessing.crop_size, "center").contiguous()
    reference_top1, quantized_top1 = (
        np.concatenate([run_session(s, views[i : i + 256].numpy()) for i in range(0, len(views), 256)]).argmax(1)
        for s in (reference, session)
    )
    return float((reference_top1 == quantized_top1).mean()), len(views)


def quantize_and_check(model: ModelFile, fp32_path: Path, out_path: Path, data_dir: Path | None = None) -> dict:
    """Quantize `fp32_path` into `out_path` and check it; raise `GraphError` (and keep nothing) on failure."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    data_dir = Path(data_dir) if data_dir else default_data_dir()
    try:
        views = calibration_views(model, data_dir)
    except FileNotFoundError as error:
        raise GraphDataMissingError(
            f"int8 calibration {DATA_MISSING_MARK}'s train.csv for its validation split: {error}"
        ) from None
    with tempfile.TemporaryDirectory() as work:
        prepared = Path(work) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        tmp = private_temp_path(out_path)  # another process may build the same graph
        quantize_static(
            str(prepared),
            str(tmp),
            _ViewReader(views),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    try:  # the unchecked graph is removed however this ends (a refusal, Ctrl-C): only a checked one is renamed
        threads = torch.get_num_threads()
        agreement, count = test_agreement(model, new_session(tmp, threads), new_session(fp32_path, threads), data_dir)
        if agreement < INT8_MIN_AGREEMENT:
            raise GraphError(
                f"the int8 graph agrees with the fp32 one on {100 * agreement:.2f}% of {count} test faces "
                f"(< {100 * INT8_MIN_AGREEMENT:.0f}%); not used"
            )
        tmp.replace(out_path)
    except FileNotFoundError as error:
        raise GraphDataMissingError(f"checking the int8 graph {DATA_MISSING_MARK}'s test set: {error}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return {"test_top1_agreement": agreement, "test_faces": count, "calibration_views": len(views)}
