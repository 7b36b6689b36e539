"""benchmarks/compare_results.py: a rerun of the benchmarks judged against committed results."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import benchmark_script

ROOT = Path(__file__).resolve().parents[1]
compare_results = benchmark_script("compare_results")


def _write(folder: Path, name: str, data: dict) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


COMMITTED = {
    "machine": {"cpu": "AMD EPYC", "cores": 2},
    "parts": {
        "headline": {
            "ratio": {"median": 1.22, "min": 0.90, "max": 1.23, "n": 5},
            "runs": [{"wall_seconds": 88.4}, {"wall_seconds": 96.5}],
        },
        "row": {
            "wall_seconds": 10.0,
            "cer": 0.0750,
            "size_mb": 10.58,
            "keeps_up": True,
            "text": "dzień dobry",
            "naive_seconds": [4.0, 4.5, 5.0],
        },
    },
}


def _rerun(**changes: object) -> dict:
    data = json.loads(json.dumps(COMMITTED))
    row = data["parts"]["row"]
    for key, value in changes.items():
        if key == "ratio":
            data["parts"]["headline"]["ratio"] = value
        else:
            row[key] = value
    return data


def _verdicts(tmp_path: Path, rerun: dict) -> dict[str, bool | None]:
    committed, again = tmp_path / "committed", tmp_path / "rerun"
    shutil.rmtree(tmp_path, ignore_errors=True)
    _write(committed, "x_bench.json", COMMITTED)
    _write(again, "x_bench.json", rerun)
    return {f.path: f.reproduced for f in compare_results.compare(committed, again)}


def test_an_identical_rerun_reproduces_every_figure_and_skips_machines_runs_and_text(
    tmp_path: Path,
) -> None:
    verdicts = _verdicts(tmp_path, COMMITTED)
    assert verdicts == {
        "parts.headline.ratio": True,
        "parts.row.wall_seconds": True,
        "parts.row.cer": True,
        "parts.row.size_mb": True,
        "parts.row.keeps_up": True,
        "parts.row.naive_seconds": True,
    }


@pytest.mark.parametrize(
    ("change", "figure", "reproduced"),
    [
        ({"ratio": {"median": 1.10, "min": 1.0, "max": 1.3, "n": 5}}, "parts.headline.ratio", True),
        (
            {"ratio": {"median": 1.30, "min": 1.2, "max": 1.4, "n": 5}},
            "parts.headline.ratio",
            False,
        ),
        ({"ratio": 0.95}, "parts.headline.ratio", True),  # a single run inside the spread
        ({"wall_seconds": 12.4}, "parts.row.wall_seconds", True),  # +24 %: a single timing
        ({"wall_seconds": 12.6}, "parts.row.wall_seconds", False),  # +26 %
        ({"cer": 0.0790}, "parts.row.cer", True),  # +0.004 absolute
        ({"cer": 0.0810}, "parts.row.cer", False),  # +0.006
        ({"size_mb": 10.60}, "parts.row.size_mb", False),  # sizes are equal or not
        ({"keeps_up": False}, "parts.row.keeps_up", False),
        ({"naive_seconds": [5.1, 5.2, 5.3]}, "parts.row.naive_seconds", False),
        ({"naive_seconds": [4.2, 4.8, 9.0]}, "parts.row.naive_seconds", True),
        ({"wall_seconds": "fast"}, "parts.row.wall_seconds", False),
    ],
)
def test_each_kind_of_figure_is_judged_by_its_own_rule(
    tmp_path: Path, change: dict, figure: str, reproduced: bool
) -> None:
    assert _verdicts(tmp_path, _rerun(**change))[figure] is reproduced


def test_figures_missing_from_the_rerun_are_reported_as_not_rerun(tmp_path: Path) -> None:
    rerun = _rerun()
    del rerun["parts"]["row"]
    verdicts = _verdicts(tmp_path, rerun)
    assert verdicts["parts.headline.ratio"] is True
    assert verdicts["parts.row.cer"] is None and verdicts["parts.row.wall_seconds"] is None


def test_the_command_writes_a_report_and_strict_fails_on_a_figure_not_reproduced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed, again = tmp_path / "committed", tmp_path / "rerun"
    _write(committed, "x_bench.json", COMMITTED)
    _write(again, "x_bench.json", _rerun(cer=0.2))
    assert compare_results.main([str(committed), str(again)]) == 0
    assert compare_results.main([str(committed), str(again), "--strict"]) == 1
    assert "5 of 6 figures reproduced (1 not, 0 not rerun)" in capsys.readouterr().out
    report = (again / "reproduction.md").read_text(encoding="utf-8")
    assert "| x_bench.json | 6 | 5 | 1 | 0 |" in report
    assert "| x_bench.json | `parts.row.cer` | quality | 0.075 | 0.2 |" in report
    _write(again, "x_bench.json", COMMITTED)
    assert compare_results.main([str(committed), str(again), "--strict"]) == 0
    # a benchmark the rerun did not run: not rerun, unless only the rerun's files are judged
    _write(committed, "y_bench.json", COMMITTED)
    assert compare_results.main([str(committed), str(again), "--strict"]) == 1
    assert "6 of 12 figures reproduced (0 not, 6 not rerun)" in capsys.readouterr().out
    only = [str(committed), str(again), "--strict", "--rerun-files-only"]
    assert compare_results.main(only) == 0
    assert "y_bench" not in (again / "reproduction.md").read_text(encoding="utf-8")


def test_the_committed_results_reproduce_themselves(tmp_path: Path) -> None:
    """Every committed results file parses and compares with itself: no figure is judged
    by a rule that cannot pass."""
    results = ROOT / "benchmarks" / "results"
    found = compare_results.compare(results, results)
    assert len(found) > 1000
    assert all(f.reproduced is True for f in found), [f for f in found if not f.reproduced][:5]


def test_parts_measured_on_another_cpu_are_named_in_the_report(tmp_path: Path) -> None:
    epyc = {"cpu": "AMD EPYC", "cpu_flags": ["avx2", "fma"]}
    xeon = {"cpu": "Intel Xeon", "cpu_flags": ["avx2", "fma", "amx_int8"]}
    committed, again = tmp_path / "committed", tmp_path / "rerun"
    _write(committed, "x_bench.json", {**COMMITTED, "part_machines": {"row": epyc}})
    _write(again, "x_bench.json", {**COMMITTED, "part_machines": {"row": xeon, "headline": epyc}})
    moved = compare_results.other_cpus(committed, again)
    # "headline" has no machine of its own in the committed file: the file's (no flags) is used
    assert moved == [
        ("x_bench.json", "row", "AMD EPYC (avx2, fma)", "Intel Xeon (avx2, fma, amx_int8)"),
        ("x_bench.json", "headline", "AMD EPYC (?)", "AMD EPYC (avx2, fma)"),
    ]
    compare_results.main([str(committed), str(again)])
    report = (again / "reproduction.md").read_text(encoding="utf-8")
    assert (
        "| x_bench.json | row | AMD EPYC (avx2, fma) | Intel Xeon (avx2, fma, amx_int8) |" in report
    )


def test_timings_from_another_cpu_are_counted_apart_and_quality_is_still_judged(
    tmp_path: Path,
) -> None:
    """A rerun of part ``row`` on another CPU: its wall time (4× off) is not judged, its CER
    still is (and fails here), and the part measured on the committed CPU is judged fully."""
    epyc = {"cpu": "AMD EPYC", "cpu_flags": ["avx2"]}
    xeon = {"cpu": "Intel Xeon", "cpu_flags": ["avx2", "amx_int8"]}
    committed, again = tmp_path / "committed", tmp_path / "rerun"
    machines = {"row": epyc, "headline": epyc}
    _write(committed, "x_bench.json", {**COMMITTED, "part_machines": machines})
    rerun = _rerun(wall_seconds=40.0, cer=0.2, ratio={"median": 2.0, "min": 1.9, "max": 2.1})
    _write(again, "x_bench.json", {**rerun, "part_machines": {**machines, "row": xeon}})
    found = {f.path: f for f in compare_results.compare(committed, again)}
    wall, cer = found["parts.row.wall_seconds"], found["parts.row.cer"]
    assert (wall.other_cpu, wall.reproduced) == (True, False)
    assert (cer.other_cpu, cer.reproduced) == (False, False)
    assert found["parts.row.naive_seconds"].other_cpu  # a spread of timings
    assert not found["parts.row.size_mb"].other_cpu and found["parts.row.size_mb"].reproduced
    ratio = found["parts.headline.ratio"]  # same CPU: judged, and off
    assert (ratio.other_cpu, ratio.reproduced) == (False, False)
    assert compare_results.main([str(committed), str(again)]) == 0
    report = (again / "reproduction.md").read_text(encoding="utf-8")
    # 6 figures; 2 timings of "row" counted apart; the ratio and the CER not reproduced
    assert "| x_bench.json | 4 | 2 | 2 | 0 | 2 |" in report
    assert "| x_bench.json | `parts.row.wall_seconds` | timing | 10 | 40 | no |" in report
    assert compare_results.main([str(committed), str(again), "--strict"]) == 1


def test_inputs_with_another_digest_or_none_recorded_are_named_in_the_report(
    tmp_path: Path,
) -> None:
    def parts(**digests: str) -> dict:
        out = {name: {"input_sha256": d, "wall_seconds": 1.0} for name, d in digests.items()}
        out["nested"] = {"files": {"a": {"input_sha256": "same", "seconds": 2.0}}}
        return {"parts": out}

    committed, again = tmp_path / "committed", tmp_path / "rerun"
    _write(committed, "s_bench.json", parts(row="aaa", kept="bbb"))
    _write(again, "s_bench.json", parts(row="ccc", kept="bbb", fresh="ddd"))
    found = compare_results.other_inputs(committed, again)
    assert found == [
        ("s_bench.json", "fresh", "not recorded in the committed results"),
        ("s_bench.json", "row", "different audio"),
    ]
    compare_results.main([str(committed), str(again)])
    report = (again / "reproduction.md").read_text(encoding="utf-8")
    assert "| s_bench.json | `row` | different audio |" in report
    assert "`kept`" not in report and "nested" not in report


def test_an_evaluation_figure_with_a_95_ci_is_reproduced_within_that_interval() -> None:
    committed = {
        "voices": [{"voice": "jm_kumo", "cer": 0.137, "cer_low": 0.096, "cer_high": 0.181}],
        "summary": {"wer": 0.434, "wer_ci": [0.324, 0.550], "char_errors": 62},
        "rows": [{"cer": 0.08}],  # per-utterance details and edit counts: not compared
    }

    def verdicts(voice: dict, summary: dict) -> dict[str, bool | None]:
        rerun = {"voices": [voice], "summary": summary, "rows": [{"cer": 0.5}]}
        found = compare_results.figures(committed, rerun, "roundtrip.json")
        return {f.path: f.reproduced for f in found}

    # a few sampled clips read differently: the CER moves 0.7 points, inside its interval
    moved = verdicts(
        {"voice": "jm_kumo", "cer": 0.144, "cer_low": 0.101, "cer_high": 0.190},
        {"wer": 0.45, "wer_ci": [0.33, 0.56], "char_errors": 62},
    )
    assert moved == {
        "voices[0].cer": True,
        "voices[0].cer_low": True,
        "voices[0].cer_high": True,
        "summary.wer": True,
        "summary.wer_ci[0]": True,
        "summary.wer_ci[1]": True,
    }
    # outside the committed interval: not reproduced (a broken recognizer or voice)
    broken = verdicts(
        {"voice": "jm_kumo", "cer": 0.30, "cer_low": 0.25, "cer_high": 0.35},
        {"wer": 0.9, "wer_ci": [0.8, 0.95], "char_errors": 140},
    )
    assert broken == {
        "voices[0].cer": False,
        "voices[0].cer_low": False,  # the rerun's interval no longer holds 0.137
        "voices[0].cer_high": True,
        "summary.wer": False,
        "summary.wer_ci[0]": False,
        "summary.wer_ci[1]": True,
    }


def test_a_roofline_measured_before_or_after_a_part_is_a_timing() -> None:
    # the matmul roofline is measured in each part's process: it drifts like any timing
    assert compare_results._kind("roofline_before") == "timing"
    assert compare_results.judge("roofline_after", 246.0, 290.0) == ("timing", True)
    assert compare_results.judge("roofline_after", 246.0, 316.0) == ("timing", False)


def test_the_hops_a_real_time_stream_decoded_are_counted_like_a_timing() -> None:
    # an engine behind real time merges hops: xlsr-53 at hop 0.5 s made 85 model calls on
    # the Xeon and 73 on a Zen 4 EPYC; how many finals the VAD cut stays exact
    hop = "parts.xlsr53_large.hops.0.5"
    assert compare_results._kind("model_calls", f"{hop}.model_calls") == "timing"
    assert compare_results._kind("partials", f"{hop}.partials") == "timing"
    assert compare_results._kind("n", f"{hop}.partial_latency.n") == "timing"
    assert compare_results._kind("n", f"{hop}.final_latency.n") == "exact"
    assert compare_results._kind("finals", f"{hop}.finals") == "exact"
    assert compare_results.judge("model_calls", 85, 73, None, f"{hop}.model_calls") == (
        "timing",
        True,
    )


def test_agreement_between_two_implementations_is_a_parity_figure() -> None:
    # measured 2026-11-30: ALBERT's layer error 0.0036 on the Xeon and 0.0032 on an EPYC
    assert compare_results._kind("max_abs") == "parity"
    assert compare_results._kind("n", "parts.stages.pl.n") == "parity"  # energy, not a count
    assert compare_results._kind("n") == "exact"
    assert compare_results.judge("albert_layer", 0.0036, 0.0032, None, "parts.stages.pl.x") == (
        "parity",
        True,
    )
    assert compare_results.judge("decoder_log_mel_db", 2.3, 3.0) == ("parity", False)


def test_a_record_with_its_own_machine_measured_elsewhere_has_its_timings_counted_apart(
    tmp_path: Path,
) -> None:
    """polish_g2p keeps the machine inside each variant, not in ``part_machines``."""
    xeon, epyc = {"cpu": "Intel Xeon", "cpu_flags": ["amx_int8"]}, {"cpu": "AMD EPYC"}
    row = {"cer": 0.137, "cer_low": 0.096, "cer_high": 0.181, "wall_seconds": 30.6}
    committed = {"variants": {"a": {**row, "machine": xeon}, "b": {**row, "machine": xeon}}}
    rerun = json.loads(json.dumps(committed))
    rerun["variants"]["a"].update(machine=epyc, wall_seconds=19.0, cer=0.15)
    rerun["variants"]["b"].update(wall_seconds=19.0)
    found = {f.path: f for f in compare_results.figures(committed, rerun, "g2p.json")}
    assert found["variants.a.wall_seconds"].other_cpu
    assert found["variants.a.cer"].reproduced and not found["variants.a.cer"].other_cpu
    # the same CPU: judged, and 38 % faster is not a reproduction
    assert (
        found["variants.b.wall_seconds"].other_cpu,
        found["variants.b.wall_seconds"].reproduced,
    ) == (
        False,
        False,
    )


def test_backfilled_intervals_come_from_the_stored_hypotheses_and_refuse_other_sentences(
    tmp_path: Path,
) -> None:
    backfill = benchmark_script("backfill_intervals")
    from speechlab.samples import POLISH_SENTENCES
    from speechlab.textnorm import plain

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from polish_g2p_bench import scores

    hyps = [plain(s) for s in POLISH_SENTENCES]
    hyps[0] = "zupełnie coś innego"  # one sentence misheard
    row = {**{k: v for k, v in scores(hyps).items() if k in ("wer", "cer")}, "seconds": 3.0}
    results = {"variants": {"a": dict(row, hypotheses=hyps)}}
    assert backfill.polish_g2p(results) == 2  # the rename and the intervals
    a = results["variants"]["a"]
    assert a["wall_seconds"] == 3.0 and "seconds" not in a
    assert 0 <= a["cer_low"] < a["cer"] < a["cer_high"] < 1
    assert backfill.polish_g2p(results) == 0  # already complete
    wrong = {"variants": {"a": {"wer": 0.5, "cer": 0.5, "hypotheses": hyps}}}
    with pytest.raises(SystemExit, match="not the same sentences"):
        backfill.polish_g2p(wrong)


def test_backfill_gives_the_pooled_round_trip_summary_an_interval_over_texts() -> None:
    backfill = benchmark_script("backfill_intervals")
    from speechlab.eval.results import score_rows
    from speechlab.textnorm import plain

    heard = {
        "v1": ["ala ma kota", "pies je", "dzień dobry", "idzie deszcz"],
        "v2": ["ala ma psa", "pies", "dzień dobry", "idzie deszcz"],
    }
    said = ["ala ma kota", "pies je kość", "dzień dobry", "idzie deszcz"]
    rows = [
        {"voice": v, "text_id": i, "reference": r, "hypothesis": h}
        for v, hyps in heard.items()
        for i, (r, h) in enumerate(zip(said, hyps, strict=True), 1)
    ]
    table = score_rows(rows, plain, n_boot=0)[0]
    # words: v1 drops "kość", v2 reads "psa" and drops "je kość": 4 of 2 x 10; characters
    # (spaces count): " kość" 5, "kota"→"psa" 3, " je kość" 8: 16 of 2 x 46
    summary = {"wer": 4 / 20, "cer": 16 / 92, "n_boot": 200, "seed": 0}
    results = {"summary": summary, "rows": table.to_dict("records")}
    assert backfill.pooled_roundtrip(results) == 1
    low, high = summary["wer_ci"]
    assert 0 <= low < 4 / 20 < high <= 1 and summary["cer_ci"][0] < 16 / 92
    assert backfill.pooled_roundtrip(results) == 0  # already complete
    wrong = {"summary": {**summary, "wer": 0.5}, "rows": results["rows"]}
    del wrong["summary"]["wer_ci"]
    with pytest.raises(SystemExit, match="not the same sentences"):
        backfill.pooled_roundtrip(wrong)


def test_the_quant_table_states_each_qat_parts_recorded_build_not_this_machines_cache(
    tmp_path: Path,
) -> None:
    """Re-rendering the committed (Xeon) table once printed the QAT times of a build that
    this machine's ``.cache`` held from its own run (217 s for the Xeon's 304 s)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import quant_bench

    results = json.loads((ROOT / "benchmarks/results/quant_table.json").read_text("utf-8"))
    results["parts"]["pl_qat_int8"]["build"]["train_seconds"] = 123.4
    kept = quant_bench.OUT["dir"]
    quant_bench.OUT["dir"] = tmp_path
    try:
        quant_bench.write_markdown(results)
    finally:
        quant_bench.OUT["dir"] = kept
    table = (tmp_path / "quant_table.md").read_text(encoding="utf-8")
    assert "pl_qat_int8 300 steps in 123 s" in table
    assert "| int8 | 145 |" in table  # whisper-base's rows, with their WER interval
    assert "0.288 (0.221–0.381)" in table
