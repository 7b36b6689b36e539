"""`speechlab run` (speechlab.cli.notebooks) through typer's CliRunner on a tiny app."""

from __future__ import annotations

import json

import pytest
import typer
from notebook_fixtures import FAILING_CELL, make_notebook
from typer.testing import CliRunner

from speechlab.cli.notebooks import RunCommand, join_parameter_pairs, run_command, split_pair
from speechlab.notebook_runs import ParameterError

app = typer.Typer(add_completion=False)
app.command("run", cls=RunCommand)(run_command)  # as speechlab.cli registers it


@app.callback()
def _root() -> None:
    """Keeps `run` a subcommand, as on the real app."""


runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "joined"),
    [
        (["nb", "-p", "n", "20"], ["nb", "-p", "n\0" + "20"]),
        (
            ["-p", "a", "1", "nb", "--parameter", "b", "x y"],
            ["-p", "a\0" + "1", "nb", "--parameter", "b\0" + "x y"],
        ),
        (["nb", "-p", "n=20", "--no-html"], ["nb", "-p", "n=20", "--no-html"]),
        (["nb", "-p", "n"], ["nb", "-p", "n"]),  # dangling: click reports it
        (["nb", "--", "-p", "a", "b"], ["nb", "--", "-p", "a", "b"]),
    ],
)
def test_minus_p_pairs_are_joined_before_parsing(args, joined):
    assert join_parameter_pairs(args) == joined


def test_split_pair_reads_both_forms():
    assert split_pair("n\0" + "20") == ("n", "20")
    assert split_pair("text\0" + "a=b") == ("text", "a=b")
    assert split_pair("n=20") == ("n", "20")
    with pytest.raises(ParameterError, match="has no value"):
        split_pair("n")


@pytest.mark.slow
def test_run_with_parameters_writes_the_run_folder(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb", "print(n, name)")
    runs = tmp_path / "runs"
    args = ["run", str(notebook), "-p", "n", "5", "-p", "name", "hello world"]
    result = runner.invoke(app, [*args, "--no-html", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    (folder,) = runs.iterdir()
    assert f"folder     {folder}" in result.output
    assert "report" not in result.output and not (folder / "report.html").exists()
    record = json.loads((folder / "parameters.json").read_text())
    assert record["parameters"]["n"] == 5 and record["parameters"]["name"] == "hello world"


@pytest.mark.slow
def test_a_failing_notebook_exits_2_with_the_cell(tmp_path):
    notebook = make_notebook(tmp_path / "bad.ipynb", FAILING_CELL)
    result = runner.invoke(app, ["run", str(notebook), "--no-html", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "error:" in result.output and "failed in cell 3 of 3" in result.output
    assert "ZeroDivisionError" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_such_notebook"], "No notebook named 'no_such_notebook'"),
        (["{nb}", "-p", "nn", "1"], "has no parameter 'nn'"),
        (["{nb}", "-p", "n"], "has no value"),
        (["{nb}", "-p", "n-x", "1"], "not a parameter name"),
    ],
)
def test_mistakes_exit_2_before_any_kernel(tmp_path, args, message):
    notebook = make_notebook(tmp_path / "tiny.ipynb", "print(n)")
    args = ["run", "--runs-dir", str(tmp_path / "runs"), *(a.format(nb=notebook) for a in args)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "runs").exists()


def test_help_documents_the_pairs():
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    assert "NAME VALUE" in result.output and "--no-html" in result.output


def test_notebooks_copy_puts_the_shipped_notebooks_in_a_folder(tmp_path):
    from speechlab.cli import app as full_app

    target = tmp_path / "my-notebooks"
    result = runner.invoke(full_app, ["notebooks", "copy", str(target)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in target.iterdir()}
    assert {"00_tour.ipynb", "03_evaluate.ipynb", "04_finetune.yaml", "README.md"} <= names
    (target / "00_tour.ipynb").write_text("mine", encoding="utf-8")
    again = runner.invoke(full_app, ["notebooks", "copy", str(target)])
    assert "kept" in again.output and (target / "00_tour.ipynb").read_text() == "mine"
    runner.invoke(full_app, ["notebooks", "copy", str(target), "--force"])
    assert (target / "00_tour.ipynb").read_text(encoding="utf-8").startswith("{")
