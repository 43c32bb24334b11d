"""Load a model file: read its dict safely, rebuild the network it names, load the weights."""

from __future__ import annotations

from pathlib import Path

from facial_emotion.core.model_file import ModelFile, ModelFileError, model_file_from_payload, read_model_payload
from facial_emotion.models.registry import build_model


def load_model_file(path: Path) -> ModelFile:
    """Load a model file (`weights_only=True`, no code executed); `ModelFileError` with the reason otherwise."""
    payload = read_model_payload(path)
    try:
        net = build_model(payload["architecture"]["name"], **payload["architecture"]["kwargs"])
        net.load_state_dict(payload["state_dict"])
    except (KeyError, RuntimeError, TypeError) as error:
        raise ModelFileError(f"{path}: the weights do not fit the recorded architecture ({error})") from None
    net.eval()
    return model_file_from_payload(payload, net)
