"""The one inference path: a model file -> 7 calibrated class probabilities for 48x48 uint8 faces."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facial_emotion.augmentation.preprocessing import test_time_views, to_network_input
from facial_emotion.core.calibration import mean_view_probabilities
from facial_emotion.core.early_exit import (
    CascadeResult,
    Stage,
    cascade_probabilities,
    format_early_exit,
    parse_early_exit,
)
from facial_emotion.core.hardware import cpu_has_amx
from facial_emotion.core.model_file import ModelFile
from facial_emotion.core.preprocessing import ALL_VIEWS, LIVE_VIEW, TTA_MODES, views_per_image
from facial_emotion.data.locate import INSTALLED
from facial_emotion.inference.backends import GRAPH_PRECISION, resolve_backend
from facial_emotion.inference.onnx_graph import (
    GraphError,
    checked_graph_available,
    graph_refusal,
    load_graph_session,
    run_session,
)
from facial_emotion.models.loading import load_model_file

BUILD_GRAPHS_COMMAND = (
    "FER_DATA_DIR=<FER2013 CSVs> facial-emotion build_graphs" if INSTALLED else "python scripts/build_graphs.py"
)
_NOTES_SHOWN: set[tuple[str, str]] = set()  # (model file and its version, note): each said once per process
EARLY_EXIT_FACES = 80  # faces per early-exit pass, and views per forward (as `batch_size` makes for fixed views)


@dataclass(frozen=True)
class EmotionPrediction:
    """The top emotion of one face, its probability, and all class probabilities."""

    label: str
    probability: float
    probabilities: np.ndarray


class EmotionPredictor:
    """Loads a model file and applies its recorded preprocessing, test-time views and temperature.

    `tta` overrides the file's test-time augmentation (e.g. `center`; `live`: the view the file records for the
    live stream) and brings the temperature fitted for it; `temperature` overrides that (1.0 gives the
    uncalibrated model). `bf16` runs the network in bfloat16 autocast; by default only with AMX (on AVX512-BF16
    alone it is slower than fp32) or on CUDA. `backend` (see `inference.backends`): `torch`, `onnxruntime` (fp32 graph),
    `onnxruntime-int8`, or `auto` (the scripts' default); graphs are derived from the model file and checked
    against it. Only the torch backend is differentiable (`view_logits` for attacks).

    `early_exit` (`core.early_exit`): None or "none" (every view), "file" (the policy the file records, used only
    with the file's own views and temperature), or `"mode@confidence,..."`. It applies to `predict_proba`,
    `predict` and `early_exit_result`, not to the differentiable `view_logits`/`probabilities`; `views_computed`
    counts the views the network has run since loading.
    """

    def __init__(
        self,
        model_path: str | Path,
        tta: str | None = None,
        temperature: float | None = None,
        device: str = "cpu",
        batch_size: int | None = None,
        bf16: bool | None = None,
        backend: str = "torch",
        early_exit: str | None = None,
    ) -> None:
        self.model: ModelFile = load_model_file(Path(model_path))
        self.model_path = Path(model_path)
        if tta is not None and tta not in (*TTA_MODES, LIVE_VIEW):
            raise ValueError(f"tta must be one of {(*TTA_MODES, LIVE_VIEW)}, got {tta!r}")
        if tta == LIVE_VIEW:
            tta = self.model.preprocessing.live_view
        self.tta = tta or self.model.preprocessing.tta
        own_views = self.tta == self.model.preprocessing.tta and temperature is None
        file_policy = self.model.preprocessing.early_exit if own_views else ""
        self.early_exit: tuple[Stage, ...] = parse_early_exit(file_policy if early_exit == "file" else early_exit)
        recorded = self.model.preprocessing.early_exit_temperatures
        # The exit temperatures belong to the file's policy; another policy reports at its modes' temperatures.
        same_policy = early_exit == "file" and len(recorded) == len(self.early_exit) + 1
        self.exit_temperatures: tuple[float, ...] = recorded if same_policy else ()
        self.views_computed = 0
        self.temperature = self.model.temperature_for(self.tta) if temperature is None else float(temperature)
        self.device = checked_device(device)
        # ~80 views per forward: larger batches run slower per face on CPU (cache misses), measured.
        self.batch_size = batch_size or max(1, 80 // views_per_image(self.tta))
        self.net = self.model.net.to(self.device).to(memory_format=torch.channels_last).eval()
        self.bf16 = (self.device.type == "cuda" or cpu_has_amx()) if bf16 is None else bf16
        self.backend = resolve_backend(backend, self.device.type)
        self._session = self._graph_session(auto=backend == "auto")

    def _graph_session(self, auto: bool) -> object | None:
        """The ONNX Runtime session of a graph backend; `auto` steps down from int8 to fp32 with one line."""
        if self.backend == "torch":
            return None
        self.bf16 = False
        if (
            auto
            and self.backend == "onnxruntime-int8"
            and not checked_graph_available(self.model_path, self.model, "int8")
        ):
            refused = graph_refusal(self.model_path, self.model, "int8")
            why = (
                f"its int8 graph was refused ({refused})"
                if refused
                else f"no int8 graph built yet (build it once, 2-4 min: {BUILD_GRAPHS_COMMAND} "
                f"'model_paths=[\"{self.model_path}\"]')"
            )
            self._note_once(f"note: {self.model_path.name}: {why}; using onnxruntime fp32")
            self.backend = "onnxruntime"
        try:
            return load_graph_session(
                self.model_path, self.model, GRAPH_PRECISION[self.backend], torch.get_num_threads()
            )
        except GraphError as error:
            if not (auto and self.backend == "onnxruntime-int8"):
                raise
            print(f"note: int8 graph unavailable ({error}); using onnxruntime fp32", file=sys.stderr)
            self.backend = "onnxruntime"
            return load_graph_session(self.model_path, self.model, "fp32", torch.get_num_threads())

    def _note_once(self, note: str) -> None:
        """Print `note` on stderr unless this process already said it of this version of the file (the Python
        API loads a file twice, for photos and for video)."""
        version = f"{self.model_path.resolve()}@{self.model_path.stat().st_mtime_ns}"
        if (version, note) not in _NOTES_SHOWN:
            _NOTES_SHOWN.add((version, note))
            print(note, file=sys.stderr)

    @property
    def precision(self) -> str:
        """What the network computes in: bf16, fp32 or int8."""
        if self.backend == "onnxruntime-int8":
            return "int8"
        return "bf16" if self.bf16 else "fp32"

    def _autocast(self) -> contextlib.AbstractContextManager:
        # fp32 is disabled explicitly: a caller's autocast (a bf16 training run exporting its model) must not
        # change what the predictor computes.
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @property
    def view_policy(self) -> str:
        """The views as a line says them: `tta`, with the early-exit stages before it where there are any."""
        return f"{format_early_exit(self.early_exit)} -> {self.tta}" if self.early_exit else self.tta

    @property
    def class_names(self) -> list[str]:
        return self.model.class_names

    def _views(self, images: torch.Tensor, tta: str) -> torch.Tensor:
        """(N, 48, 48) or (N, 1, 48, 48) pixel values in 0..255 -> (N * K, 1, crop, crop) normalised views."""
        if images.dim() == 3:
            images = images.unsqueeze(1)
        prep = self.model.preprocessing
        x = to_network_input(images.to(self.device), prep)
        return test_time_views(x, prep.crop_size, tta).contiguous(memory_format=torch.channels_last)

    def _network_logits(self, views: torch.Tensor) -> torch.Tensor:
        """(M, 1, crop, crop) views -> (M, classes) logits, on the session or the torch network."""
        self.views_computed += len(views)
        if self._session is not None:
            return torch.from_numpy(run_session(self._session, views.detach().cpu().numpy()))
        with self._autocast():
            return self.net(views).float()

    def view_logits(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 48, 48) or (N, 1, 48, 48) pixel values in 0..255 -> (N, K, classes) logits (differentiable on torch)."""
        logits = self._network_logits(self._views(images, self.tta))
        return logits.view(images.shape[0], views_per_image(self.tta), -1)

    def probabilities_from_view_logits(
        self, view_logits: torch.Tensor, temperature: float | None = None
    ) -> torch.Tensor:
        """(N, K, classes) -> (N, classes): softmax of each view at the temperature, averaged over views."""
        t = self.temperature if temperature is None else temperature
        return mean_view_probabilities(view_logits, t)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """Differentiable (N, classes) probabilities for pixel values in 0..255."""
        return self.probabilities_from_view_logits(self.view_logits(images))

    def predict_proba(self, faces: np.ndarray) -> np.ndarray:
        """uint8 faces (N, 48, 48) or one (48, 48) -> (N, 7) float32 probabilities."""
        faces = self._check_faces(faces)
        step = EARLY_EXIT_FACES if self.early_exit else self.batch_size
        out = []
        with torch.inference_mode():
            for start in range(0, len(faces), step):
                batch = torch.from_numpy(faces[start : start + step])
                probs = self.early_exit_result(batch).probabilities if self.early_exit else self.probabilities(batch)
                out.append(probs.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), dtype=np.float32)

    def early_exit_result(self, images: torch.Tensor) -> CascadeResult:
        """Calibrated (and temperature-1) probabilities through the early-exit stages, the stage each face stopped
        at, and the views run; each view of a face runs at most once. Batches of `EARLY_EXIT_FACES` run best."""
        every_view = self._views(images, ALL_VIEWS).unflatten(0, (len(images), -1))
        step = EARLY_EXIT_FACES  # views per forward, the size the predictor batches fixed views at

        def logits_for(faces: torch.Tensor, views: list[int]) -> torch.Tensor:
            wanted = every_view[faces][:, views].flatten(0, 1)
            logits = torch.cat([self._network_logits(wanted[i : i + step]) for i in range(0, len(wanted), step)])
            return logits.view(len(faces), len(views), -1)

        return cascade_probabilities(
            len(images), logits_for, self.early_exit, self.tta, self.model.temperature_for, self.exit_temperatures
        )

    def predict(self, faces: np.ndarray) -> list[EmotionPrediction]:
        """Top emotion and probability for each face."""
        probs = self.predict_proba(faces)
        return [EmotionPrediction(self.class_names[int(p.argmax())], float(p.max()), p) for p in probs]

    def _check_faces(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces)
        if faces.ndim == 2:
            faces = faces[None]
        size = self.model.preprocessing.input_size
        if faces.ndim != 3 or faces.shape[1:] != (size, size):
            raise ValueError(f"expected grayscale faces of shape (N, {size}, {size}), got {faces.shape}")
        return np.ascontiguousarray(faces, dtype=np.uint8)


def checked_device(name: str) -> torch.device:
    """`torch.device(name)` for a device this machine has; ValueError in one line otherwise."""
    try:
        device = torch.device(str(name))
    except RuntimeError:
        raise ValueError(f"device must be cpu or cuda (cuda:0, ...), got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={name}: no CUDA GPU is visible to PyTorch here; use device=cpu")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be cpu or cuda (cuda:0, ...), got {name!r}")
    return device
