"""Training precision and speed-table sections follow the CPU (flags and vendor), as measured."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facial_emotion.core import hardware
from facial_emotion.evaluation import speed


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "vendor", "expected"),
    [
        (True, True, "GenuineIntel", "bf16-mixed"),  # AMX: native bf16 tiles
        (False, True, "AuthenticAMD", "bf16-mixed"),  # AMD EPYC, AVX512-BF16: 2.2x faster than fp32
        (False, True, "GenuineIntel", "32-true"),  # Xeon with AVX512-BF16, no AMX: bf16 was slower
        (False, False, "AuthenticAMD", "32-true"),  # AVX2 only: bf16 would be emulated
    ],
)
def test_cpu_training_precision_follows_the_measured_rule(
    monkeypatch: pytest.MonkeyPatch, amx: bool, avx512_bf16: bool, vendor: str, expected: str
) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(hardware, "cpu_vendor", lambda: vendor)
    assert hardware.auto_precision("cpu") == expected
    assert expected in hardware.precision_reason(expected, "cpu")


def test_speed_table_keeps_one_section_per_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    table = tmp_path / "speed.md"
    for name, ms in [("AMD EPYC", 5.0), ("Intel(R) Xeon(R) Processor", 9.0), ("AMD EPYC", 4.0)]:
        monkeypatch.setattr(speed, "cpu_name", lambda name=name: name)
        speed.write_speed_table(table, [speed.SpeedRow("onnxruntime", "fp32", "zoomed_center", 2, 1, ms)], "m.pkl")
    text = table.read_text()
    assert text.count("## AMD EPYC, ") == 1 and text.count("## Intel(R) Xeon(R) Processor, ") == 1
    amd = text.split("## AMD EPYC, ")[1]
    assert "| 4.00 |" in amd and "| 5.00 |" not in amd  # the re-run replaced its own CPU's section only
    assert text.index("## AMD EPYC, ") < text.index("## Intel(R) Xeon(R) Processor, ")  # in its place
    assert text.startswith("# Inference speed per CPU kind\n\n## AMD EPYC, ") and text.endswith(".\n")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fma avx avx2 avx512f avx512bw avx512_vnni", "AVX-512 + VNNI"),  # Ice Lake Xeon, AMD EPYC Zen 4
        ("fma avx avx2 avx512f avx512bw", "AVX-512"),  # Skylake Xeon
        ("fma avx avx2 avx_vnni", "AVX2 + VNNI"),  # Alder Lake laptops
        ("fma avx avx2", "AVX2"),  # AMD EPYC Zen 2/3, most laptops
        ("sse4_2 avx", "no AVX2"),
    ],
)
def test_vector_units_name_what_the_int8_kernels_run_on(flags: str, expected: str) -> None:
    assert hardware.vector_units(set(flags.split())) == expected


def test_a_cpu_without_native_bf16_is_labelled_by_its_vector_units(monkeypatch: pytest.MonkeyPatch) -> None:
    """An AVX-512 VNNI Xeon without AMX is not labelled "AVX2": its int8 figures are 2-3x an AVX2 laptop's."""
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "")
    for flags, kind in [("avx2 avx512f avx512_vnni", "AVX-512 + VNNI"), ("avx2", "AVX2")]:
        monkeypatch.setattr(hardware, "cpu_flags", lambda flags=flags: set(flags.split()))
        assert hardware.cpu_kind() == f"{kind} (no native bf16)"
        assert f"({kind}, no native bf16," in hardware.describe_device("cpu")
