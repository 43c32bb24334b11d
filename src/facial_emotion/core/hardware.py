"""Describe the machine and choose training precision from what the CPU can do natively."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def _cpuinfo_field(name: str) -> str:
    """The first value of `name` in /proc/cpuinfo, empty where there is none (or no /proc/cpuinfo)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    return ""


def cpu_name() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's processor string)."""
    return _cpuinfo_field("model name") or platform.processor() or "unknown CPU"


def cpu_vendor() -> str:
    """The CPU vendor id from /proc/cpuinfo (GenuineIntel, AuthenticAMD, ...), empty where unknown."""
    return _cpuinfo_field("vendor_id")


def cpu_flags() -> set[str]:
    """The feature flags of /proc/cpuinfo (empty where there is none)."""
    return set(_cpuinfo_field("flags").split())


def vector_units(flags: set[str] | None = None) -> str:
    """The widest vector unit and whether it has int8 dot products (VNNI): what ONNX Runtime's fp32 and int8
    kernels run on, so what separates an AVX2-only laptop from an AVX-512 server without AMX.

    One of "AVX-512 + VNNI", "AVX-512", "AVX2 + VNNI", "AVX2", "no AVX2"; where the flags are unknown (no
    /proc/cpuinfo), PyTorch's own dispatch level.
    """
    flags = cpu_flags() if flags is None else flags
    if not flags:
        return torch.backends.cpu.get_cpu_capability()
    if "avx512f" in flags:
        return "AVX-512 + VNNI" if "avx512_vnni" in flags else "AVX-512"
    if "avx2" in flags:
        return "AVX2 + VNNI" if "avx_vnni" in flags else "AVX2"
    return "no AVX2"


def cpu_has_native_bf16() -> bool:
    """True when bf16 matrix work is native (AMX tiles or AVX512-BF16), i.e. faster than fp32."""
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def cpu_has_amx() -> bool:
    """True where bf16 matrix work has AMX tiles: the only CPU kind where bf16 inference beat fp32 here (on
    AVX512-BF16 without AMX the predictor ran 14x slower in bf16 at batch 1 than in fp32)."""
    return bool(torch.cpu._is_amx_tile_supported())


def cpu_trains_faster_in_bf16() -> bool:
    """AMX, or AVX512-BF16 on an AMD CPU: where bf16-mixed training was measured faster than fp32.

    5.5M VGG, batch 128, 2 threads: AMD EPYC with AVX512-BF16 119 images/s bf16-mixed vs 55 fp32; an Intel
    Xeon with AVX512-BF16 but no AMX 2.9 s vs 2.0 s per step (bf16 slower), so the flag alone does not decide.
    """
    if cpu_has_amx():
        return True
    return bool(torch.cpu._is_avx512_bf16_supported()) and cpu_vendor() == "AuthenticAMD"


def auto_precision(accelerator: str = "cpu") -> str:
    """bf16-mixed on CUDA with bf16 and on CPUs where it trains faster (`cpu_trains_faster_in_bf16`), else 32-true."""
    if accelerator in ("gpu", "cuda"):
        return "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if cpu_trains_faster_in_bf16() else "32-true"


def precision_reason(precision: str, accelerator: str = "cpu") -> str:
    """One line saying which precision runs and why."""
    if accelerator in ("gpu", "cuda"):
        return f"precision {precision} on {describe_device('cuda')}"
    if cpu_has_amx():
        native = "has AMX (native bf16 matrix tiles)"
    elif cpu_trains_faster_in_bf16():
        native = "is an AMD CPU with AVX512-BF16 (bf16-mixed measured ~2.2x faster than fp32 there)"
    elif cpu_has_native_bf16():
        native = "has AVX512-BF16 but no AMX (bf16-mixed measured ~1.5x slower than fp32 on such a Xeon)"
    else:
        native = "has no native bf16 (it would be emulated, ~12x slower)"
    return f"precision {precision}: the CPU ({cpu_name()}) {native}"


def describe_device(device: str = "cpu") -> str:
    """A short hardware description to record beside every figure."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    flags = (
        "AMX"
        if torch.cpu._is_amx_tile_supported()
        else ("AVX512-BF16" if cpu_has_native_bf16() else f"{vector_units()}, no native bf16")
    )
    return f"CPU {cpu_name()} ({flags}, {torch.get_num_threads()} threads)"


def emulating_avx2() -> bool:
    """ONEDNN_MAX_CPU_ISA=AVX2: PyTorch's oneDNN kernels are limited to AVX2 (what an AVX2-only CPU runs)."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper().startswith("AVX2")


def cpu_kind() -> str:
    """The CPU kind a speed table is labelled with (what decides the `auto` backend)."""
    if emulating_avx2():
        return "AVX2 emulated (ONEDNN_MAX_CPU_ISA=AVX2: limits PyTorch's oneDNN only; ONNX Runtime still uses AVX-512)"
    if torch.cpu._is_amx_tile_supported():
        return "AMX"
    if cpu_has_native_bf16():
        return "AVX512-BF16 (no AMX)"
    return f"{vector_units()} (no native bf16)"
