"""benchmarks/headlines.py: the README's headline figures per CPU and invocation."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import benchmark_script

headlines = benchmark_script("headlines")

XEON = {"cpu": "Intel(R) Xeon(R) Processor", "cpu_flags": ["avx2", "amx_tile"]}
EPYC = {"cpu": "AMD EPYC", "cpu_flags": ["avx2", "avx512f"]}


def _asr(ratio: tuple[float, float, float], machine: dict) -> dict:
    median, low, high = ratio
    spread = {"median": median, "min": low, "max": high, "n": 5}
    return {
        "parts": {"headline": {"ratio": spread}},
        "part_machines": {"headline": machine},
    }


def _write(root: Path, folder: str, name: str, data: dict) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / name).write_text(json.dumps(data), encoding="utf-8")


def test_each_cpu_is_judged_against_the_invocations_before_it_there(tmp_path: Path) -> None:
    _write(tmp_path, "results", "asr_bench.json", _asr((1.19, 1.08, 1.39), XEON))
    _write(tmp_path, "rerun", "asr_bench.json", _asr((1.32, 1.07, 1.33), XEON))  # inside
    _write(tmp_path, "rerun-same-cpu", "asr_bench.json", _asr((1.20, 1.10, 1.30), EPYC))
    _write(tmp_path, "rerun-3", "asr_bench.json", _asr((1.31, 1.25, 1.35), EPYC))  # outside
    ratio = headlines.HEADLINES[0]
    assert ratio.file == "asr_bench.json"
    found = headlines.measure(ratio, tmp_path)
    assert [m.folder for m in found] == ["results", "rerun", "rerun-same-cpu", "rerun-3"]
    assert [ok for _, ok, _ in headlines.verdicts(found)] == [None, True, None, False]
    text = headlines.render(tmp_path)
    assert "1 of 2 later figures were reproduced" in text
    row = "| CPU B | `rerun-3/` | 1.31× (1.25–1.35) | **not reproduced** (1.20× (1.10–1.30) "
    assert row + "before) |" in text
    # pooled per CPU: the median of the medians, the lowest min, the highest max
    assert "| CPU A | 2 | 1.25× (1.07–1.39) |" in text
    assert "| CPU B | 2 | 1.25× (1.10–1.35) |" in text
    # on the edge of the reference range reproduces; just past it does not
    a = headlines.Measured("a", "x", (1.0, 0.9, 1.1))
    assert headlines.verdicts([a, headlines.Measured("b", "x", (1.1, 1, 2))])[1][1] is True
    assert headlines.verdicts([a, headlines.Measured("b", "x", (1.1001, 1, 2))])[1][1] is False


def test_a_third_invocation_is_judged_against_the_pooled_range_of_the_first_two() -> None:
    first = headlines.Measured("results", "x", (1.0, 0.95, 1.05))
    second = headlines.Measured("rerun", "x", (1.12, 1.08, 1.15))  # outside the first's range
    third = headlines.Measured("rerun-3", "x", (1.07, 1.0, 1.2))  # inside the pooled one only
    found = headlines.verdicts([first, second, third])
    assert [ok for _, ok, _ in found] == [None, False, True]
    assert found[2][2] == (1.06, 0.95, 1.15)  # the median of two medians is their mean
    assert headlines.pooled([(1.0, 0.9, 1.1), (3.0, 2.0, 4.0), (2.0, 1.5, 2.5)]) == (2.0, 0.9, 4.0)


def test_length_and_quantization_ratios_take_their_range_from_the_runs_extremes() -> None:
    by_length = next(h for h in headlines.HEADLINES if h.label.endswith("compute, 16 s"))
    row = {"speechlab_seconds": [1.0, 0.9, 1.1], "naive_seconds": [2.0, 2.2, 2.5], "ratio": 2.2}
    assert by_length.get({"lengths": {"16": row}}) == (2.2, 2.0 / 1.1, 2.5 / 0.9)
    assert by_length.get({"lengths": {}}) is None
    int8 = next(h for h in headlines.HEADLINES if h.part == "pl_torch_int8")
    parts = {"pl_fp32": {"wall_seconds": [4.0, 3.0, 5.0]}}
    assert int8.get({"wall_seconds": [2.0, 1.0, 2.5]}, parts) == (2.0, 3.0 / 2.5, 5.0 / 1.0)
    assert int8.get({"wall_seconds": [2.0]}, parts) is None  # a single run has no spread


def test_the_committed_headlines_file_is_rendered_from_the_committed_results() -> None:
    assert headlines.OUTPUT.read_text(encoding="utf-8") == headlines.render()
    assert headlines.main(["--check"]) == 0
