"""Which runtime computes the network: PyTorch, or ONNX Runtime (fp32 or int8) on the CPU.

`auto` is one rule for every CPU kind, justified by `scripts/benchmark.py` (results/model/speed.md): ONNX Runtime
int8 once its graph is built (calibrating and checking it takes minutes and FER2013, so `auto` never builds it: an
explicit backend=onnxruntime-int8 does, once per model file), else ONNX Runtime fp32. On AVX2 and AVX-512 CPUs
int8 was 1.6-5x PyTorch at batch 1 and 256; on AMX too, where PyTorch runs bf16 natively (2 threads: 1.43 against
10.49 ms per face at batch 1, 0.94 against 3.06 at batch 256). CUDA: PyTorch.
"""

from __future__ import annotations

import sys

BACKENDS = ("auto", "torch", "onnxruntime", "onnxruntime-int8")
GRAPH_PRECISION = {"onnxruntime": "fp32", "onnxruntime-int8": "int8"}
# How far a backend's FER2013 test accuracy may move from the model file's record (measured with PyTorch).
ACCURACY_TOLERANCE = {"torch": 0.001, "onnxruntime": 0.001, "onnxruntime-int8": 0.003}


def onnxruntime_installed() -> bool:
    """ONNX Runtime can be imported (it is an optional speed-up: without it everything runs on torch)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def auto_backend(device: str = "cpu") -> str:
    """The backend `auto` means on this machine (see the module docstring for the rule)."""
    return "torch" if device != "cpu" else "onnxruntime-int8"


def differentiable_backend(requested: str) -> str:
    """`requested` if it is `torch`; attacks differentiate through the network, which only torch can."""
    if requested != "torch":
        raise ValueError(f"backend {requested!r} has no gradients; attacks need backend=torch")
    return requested


def resolve_backend(requested: str, device: str = "cpu") -> str:
    """A concrete backend for `requested`; ONNX Runtime where it is absent or off-CPU falls back to torch (one line)."""
    if requested not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {requested!r}")
    backend = auto_backend(device) if requested == "auto" else requested
    if backend == "torch":
        return backend
    if device != "cpu":
        print(f"note: backend {backend} runs on the CPU only; using torch on {device}", file=sys.stderr)
        return "torch"
    if not onnxruntime_installed():
        print(f"note: onnxruntime is not installed; backend {backend} falls back to torch", file=sys.stderr)
        return "torch"
    return backend
