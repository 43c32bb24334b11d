"""A file given as a model file by mistake is named for what it is; the safe-loading refusal is for pickles only.

An image, a text file or a cached ONNX graph was refused with 'loading it would mean running code from the file,
which is never done', which sent users looking for code in a photo.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facial_emotion.core.model_file import ModelFileError, read_model_payload

REFUSAL = "loading it would mean running code from the file, which is never done"


def message(path: Path) -> str:
    with pytest.raises(ModelFileError) as refused:
        read_model_payload(path)
    return str(refused.value)


@pytest.mark.parametrize(("name", "kind"), [("face.png", "a PNG image"), ("face.jpg", "a JPEG image")])
def test_an_image_is_named_as_one(tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    assert message(path) == f"{path} is not a model file ({kind})"


@pytest.mark.parametrize("name", ["notes.txt", "model.pkl", "graph.json"])
def test_text_is_named_as_text(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text('{"format": "facial-emotion-model/1"}\n' + "ünïcode line\n" * 500, encoding="utf-8")
    assert message(path) == f"{path} is not a model file (text)"


def test_an_onnx_graph_asks_for_the_file_it_was_built_from(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    path = tmp_path / ".cache" / "my_own_model.0123456789abcdef.int8.onnx"  # the name build_graphs gives
    path.parent.mkdir()
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [value("x", TensorProto.FLOAT, [1])],
        [value("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), str(path))
    assert message(path) == f"{path} is an ONNX graph, not a model file: give the .pkl it was built from"


def test_an_empty_file_is_named_empty(tmp_path: Path) -> None:
    (tmp_path / "empty.pkl").touch()
    assert message(tmp_path / "empty.pkl") == f"{tmp_path / 'empty.pkl'} is empty, not a model file"


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_pickles_with_code_keep_the_safe_loading_refusal(tmp_path: Path, protocol: int) -> None:
    """Plain pickles too, protocol 0 ones (text) included, and whatever their name (an .onnx one as well)."""
    for name in ("evil.pkl", "evil.onnx", "evil.txt"):
        path = tmp_path / name
        path.write_bytes(pickle.dumps({"payload": Evil()}, protocol=protocol))
        assert REFUSAL in message(path)
    torch.save({"payload": Evil()}, tmp_path / "evil.pt")
    assert REFUSAL in message(tmp_path / "evil.pt")
