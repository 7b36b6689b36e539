"""`speechlab runs list|compare` (speechlab.cli.runs) through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from test_run_history import make_run
from typer.testing import CliRunner

from speechlab.cli import app

runner = CliRunner()


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    for i, (n, cer) in enumerate([(2, 0.1), (6, 0.07), (12, 0.05)]):
        make_run(
            root,
            f"20261128-1{i}0000-03_evaluate",
            {"n_sentences": n},
            {"cer": cer, "wer": cer * 3},
            started=f"2026-11-28T1{i}:00:00+00:00",
        )
    return root


def test_list_shows_each_run_with_its_metrics(runs):
    result = runner.invoke(app, ["runs", "list", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "20261128-100000-03_evaluate" in result.output and "cer=0.07" in result.output
    data = json.loads(
        runner.invoke(app, ["runs", "list", "--runs-dir", str(runs), "--json"]).output
    )
    assert [row["metrics"]["cer"] for row in data] == [0.1, 0.07, 0.05]


def test_compare_two_runs_side_by_side(runs):
    args = ["runs", "compare", "100000", "110000", "--runs-dir", str(runs)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("n_sentences" in line and "2" in line and "6" in line for line in lines)
    assert any("cer" in line and "0.1" in line and "0.07" in line for line in lines)
    assert "plot:" not in result.output  # two runs: no plot unless asked
    data = json.loads(runner.invoke(app, [*args, "--json"]).output)
    assert data["parameters"] == {"n_sentences": [2, 6]}


def test_compare_many_runs_writes_a_plot(runs):
    result = runner.invoke(app, ["runs", "compare", "--notebook", "03", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    plot = runs / "comparison.svg"
    assert f"plot: {plot}" in result.output.replace("\n", "")
    assert plot.read_text(encoding="utf-8").count("<polyline") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "compare", "100000"], "two runs or more"),
        (["runs", "compare", "03_evaluate", "100000"], "matches 3 runs"),
        (["runs", "list", "--runs-dir", "/nonexistent/runs"], "No runs folder"),
    ],
)
def test_mistakes_exit_2_with_a_message(runs, args, message):
    if "--runs-dir" not in args:
        args = [*args, "--runs-dir", str(runs)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")
