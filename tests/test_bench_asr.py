"""benchmarks/asr_bench.py's report: what it says about the CPU it ran on."""

from __future__ import annotations

from conftest import benchmark_script

asr_bench = benchmark_script("asr_bench")


def _ran_on(flags: list[str]) -> dict:
    return {"part_machines": {"w2v2_speechlab_bf16": {"cpu": "x", "cpu_flags": flags}}}


def test_the_bf16_row_names_the_bf16_hardware_its_cpu_recorded() -> None:
    xeon = ["avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"]
    assert asr_bench.bf16_hardware(_ran_on(xeon)) == "AMX"
    # the Zen 4 EPYC: bf16 dot products in AVX-512, no AMX (its bf16 row ran 1.92x fp32)
    zen4 = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"]
    assert asr_bench.bf16_hardware(_ran_on(zen4)) == "AVX512-BF16, no AMX"
    assert asr_bench.bf16_hardware(_ran_on(["avx2", "fma"])) == "no bf16 instructions"
    assert asr_bench.bf16_hardware({}) == "CPU not recorded"
    # a file written before machines were kept per part: its one machine record counts
    assert asr_bench.bf16_hardware({"machine": {"cpu_flags": xeon}}) == "AMX"
