"""benchmarks/harness.py: what it keeps beside each part's figures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import compare_results  # noqa: E402
import harness  # noqa: E402

BUSY = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end: pass"


def test_other_load_counts_a_neighbour_but_not_the_parts_own_processes():
    load = harness.OtherLoad().start()
    subprocess.run([sys.executable, "-c", BUSY.format(s=1.5)], check=True)  # the part itself
    own = load.cores()
    neighbour = subprocess.Popen([sys.executable, "-c", BUSY.format(s=30)])
    try:
        time.sleep(0.3)
        load = harness.OtherLoad().start()
        time.sleep(1.5)
        beside = load.cores()
    finally:
        neighbour.kill()
        neighbour.wait()
    # one core spinning beside the part: about 1 more core than the part's own child counts
    # (0.3: the neighbour shares 2 cores with whatever else runs; counting the part's own
    # child as other load, or counting nothing, gives a difference near 0)
    assert own is not None and beside is not None
    assert beside > own + 0.3, (own, beside)


def test_run_all_keeps_each_parts_other_load(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    seen = []
    results = harness.run_all("x", ["a", "b"], lambda part: {"wall_seconds": 1.0}, seen.append)
    assert set(results["part_other_load"]) == {"a", "b"}
    assert all(v is None or v >= 0 for v in results["part_other_load"].values())
    stored = json.loads((tmp_path / "x.json").read_text())
    assert stored["part_other_load"] == results["part_other_load"] and seen


def test_fresh_measures_the_named_parts_again_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    runs = iter(range(10))
    measure = lambda part: {"run": next(runs)}  # noqa: E731
    harness.run_all("x", ["a", "b"], measure, lambda r: None)  # a: run 0, b: run 1
    again = harness.run_all("x", ["a", "b"], measure, lambda r: None)
    assert again["parts"] == {"a": {"run": 0}, "b": {"run": 1}}  # resumed: nothing rerun
    redone = harness.run_all("x", ["b"], measure, lambda r: None, fresh=True)
    assert redone["parts"] == {"a": {"run": 0}, "b": {"run": 2}}
    assert set(redone["part_machines"]) == {"a", "b"}
    assert json.loads((tmp_path / "x.json").read_text())["parts"]["b"] == {"run": 2}


def test_parts_measured_beside_other_work_are_flagged_and_their_loads_are_not_figures(
    tmp_path,
):
    results = {
        "parts": {"a": {"wall_seconds": 1.0}, "b": {"wall_seconds": 2.0}, "c": {}},
        "part_machines": {},
        "part_other_load": {"a": 1.2, "b": 0.1, "c": None, "gone": 2.0},
    }
    assert harness.busy_parts(results) == {"a": 1.2}
    assert "**Measured beside other work**" in "\n".join(harness.machine_lines(results))
    assert "a 1.20" in harness.machine_lines(results)[-1]
    committed, rerun = tmp_path / "committed", tmp_path / "rerun"
    for folder, loads in ((committed, {"a": 0.0}), (rerun, results["part_other_load"])):
        folder.mkdir()
        data = {**results, "part_other_load": loads}
        (folder / "x.json").write_text(json.dumps(data), encoding="utf-8")
    found = compare_results.compare(committed, rerun)
    assert {f.path for f in found} == {"parts.a.wall_seconds", "parts.b.wall_seconds"}
    compare_results.main([str(committed), str(rerun)])
    report = (rerun / "reproduction.md").read_text(encoding="utf-8")
    assert "| rerun | x.json | a | 1.20 |" in report and "| committed |" not in report


def test_cpu_of_the_parts_unreaped_processes_is_not_a_neighbours(monkeypatch):
    clock = {"machine": 100.0, "own": 10.0, "now": 0.0}
    monkeypatch.setattr(harness, "_machine_busy_seconds", lambda: clock["machine"])
    monkeypatch.setattr(harness, "_own_cpu_seconds", lambda: clock["own"])
    monkeypatch.setattr(harness, "time", SimpleNamespace(monotonic=lambda: clock["now"]))
    load = harness.OtherLoad().start()
    # 10 s: the machine busy 16 CPU-s, the part's reaped processes 6, its orphaned actors 8
    clock.update(machine=116.0, own=16.0, now=10.0)
    assert load.cores() == pytest.approx(1.0)  # the actors' 8 s + 2 s of someone else
    assert load.cores(unreaped=8.0) == pytest.approx(0.2)
    assert load.cores(unreaped=50.0) == 0.0  # never below zero
