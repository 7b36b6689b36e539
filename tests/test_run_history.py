"""speechlab.run_history: run folders read back, compared, and plotted as SVG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from speechlab.run_history import (
    RunHistoryError,
    compare_runs,
    comparison_svg,
    find_run,
    find_runs,
    read_run,
)


def make_run(
    runs: Path,
    name: str,
    given: dict,
    metrics: dict | None = None,
    notebook: str = "03_evaluate",
    started: str = "2026-11-28T10:00:00+00:00",
) -> Path:
    """A run folder as speechlab.notebook_runs writes it."""
    folder = runs / name
    folder.mkdir(parents=True)
    record = {
        "notebook": f"/x/{notebook}.ipynb",
        "parameters": {**given, "out_dir": str(folder / "outputs")},
        "defaults": {"n_sentences": 2, "voice": "jm_kumo", "languages": ["pl"], "out_dir": None},
        "started": started,
        "status": "ok",
        "duration_s": 12.5,
    }
    (folder / "parameters.json").write_text(json.dumps(record), encoding="utf-8")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return folder


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    make_run(root, "20261128-100000-03_evaluate", {}, {"cer": 0.1, "wer": 0.3})
    make_run(
        root,
        "20261128-110000-03_evaluate",
        {"n_sentences": 6},
        {"cer": 0.07, "wer": 0.2, "cer_ci_high": 0.12},
        started="2026-11-28T11:00:00+00:00",
    )
    make_run(
        root, "20261128-120000-00_tour", {}, notebook="00_tour", started="2026-11-28T12:00:00+00:00"
    )
    (root / "not-a-run").mkdir()
    return root


def test_runs_are_found_oldest_first_and_by_notebook(runs):
    assert [r.name for r in find_runs(runs)] == [
        "20261128-100000-03_evaluate",
        "20261128-110000-03_evaluate",
        "20261128-120000-00_tour",
    ]
    assert [r.notebook for r in find_runs(runs, notebook="evaluate")] == ["03_evaluate"] * 2
    assert [r.notebook for r in find_runs(runs, notebook="00")] == ["00_tour"]


def test_a_run_has_its_effective_parameters_and_metrics(runs):
    run = read_run(runs / "20261128-110000-03_evaluate")
    assert run.parameters["n_sentences"] == 6 and run.parameters["voice"] == "jm_kumo"
    assert run.metrics["cer"] == 0.07 and run.duration_s == 12.5 and run.status == "ok"
    assert read_run(runs / "20261128-120000-00_tour").metrics == {}


def test_runs_are_named_by_folder_name_unique_part_or_path(runs):
    assert find_run("110000", runs).name == "20261128-110000-03_evaluate"
    assert find_run(runs / "20261128-120000-00_tour").notebook == "00_tour"
    with pytest.raises(RunHistoryError, match="matches 2 runs"):
        find_run("03_evaluate", runs)
    with pytest.raises(RunHistoryError, match="runs list"):
        find_run("nothing-like-it", runs)
    with pytest.raises(RunHistoryError, match="not a `speechlab run` folder"):
        read_run(runs / "not-a-run")
    with pytest.raises(RunHistoryError, match="No runs folder"):
        find_runs(runs / "missing")


def test_comparison_shows_only_differing_parameters_and_every_metric(runs):
    comparison = compare_runs(find_runs(runs, notebook="03"))
    assert comparison.parameters == {"n_sentences": [2, 6]}  # out_dir always differs: left out
    assert comparison.metrics == {
        "cer": [0.1, 0.07],
        "wer": [0.3, 0.2],
        "cer_ci_high": [None, 0.12],
    }
    kinds = [kind for kind, _, _ in comparison.rows()]
    assert kinds == ["parameter", "metric", "metric", "metric"]
    mixed = compare_runs(find_runs(runs))
    assert mixed.rows()[0] == ("run", "notebook", ["03_evaluate", "03_evaluate", "00_tour"])


def test_the_svg_draws_one_chart_per_numeric_metric(runs, tmp_path):
    comparison = compare_runs(find_runs(runs))
    path = comparison_svg(comparison, tmp_path / "plot.svg")
    root = ET.fromstring(path.read_text(encoding="utf-8"))  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}polyline")) == 3  # cer, wer, cer_ci_high
    assert len(root.findall(f"{ns}circle")) == 2 + 2 + 1  # one dot per recorded value
    with pytest.raises(RunHistoryError, match="recorded a number"):
        comparison_svg(compare_runs([read_run(runs / "20261128-120000-00_tour")]), path)
