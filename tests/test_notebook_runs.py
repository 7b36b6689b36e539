"""speechlab.notebook_runs: -p parsing, notebook names, run folders, reports, failing cells."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from importlib import resources
from pathlib import Path

import nbformat
import pytest
from conftest import require
from notebook_fixtures import (
    CDN_PLOTLY,
    FAILING_CELL,
    FIGURE_CELL,
    INLINE_PLOTLY,
    make_notebook,
    plotly_outputs,
)

from speechlab.errors import OutputError, SpeechlabError
from speechlab.notebook_runs import (
    NotebookCellError,
    NotebookNotFoundError,
    NotebookRunError,
    ParameterError,
    parse_parameters,
    parse_value,
    python_literal,
    resolve_notebook,
    run_notebook,
    shipped_notebooks,
)

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------- -p values


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("20", 20),
        ("-3", -3),
        ("0.5", 0.5),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("True", True),
        ("true", True),
        ("False", False),
        ("false", False),
        ("None", None),
        ("null", None),
        ("jm_kumo", "jm_kumo"),
        ("jm_kumo:0.7,jf_alpha:0.3", "jm_kumo:0.7,jf_alpha:0.3"),
        ("Dzień dobry", "Dzień dobry"),
        ("", ""),
        ("nan", "nan"),  # not a float: finite numbers only
        ("inf", "inf"),
        ("12abc", "12abc"),
        ("[pl, cs]", ["pl", "cs"]),
        ("[0.9, 1.1]", [0.9, 1.1]),
        ("{jm_kumo: 0.5, jf_alpha: 0.5}", {"jm_kumo": 0.5, "jf_alpha": 0.5}),
    ],
)
def test_parse_value_like_papermill_with_yaml_collections(text, value):
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_parse_value_rejects_broken_yaml_collections():
    with pytest.raises(ParameterError, match="does not parse"):
        parse_value("[pl, cs")


def test_parse_parameters_keeps_the_last_value_and_checks_names():
    assert parse_parameters([("n", "1"), ("voice", "jm_kumo"), ("n", "2")]) == {
        "n": 2,
        "voice": "jm_kumo",
    }
    assert parse_parameters(None) == {}
    with pytest.raises(ParameterError, match="not a parameter name"):
        parse_parameters([("n-sentences", "3")])
    assert issubclass(ParameterError, SpeechlabError)


# ---------------------------------------------------------------------- notebook names


def test_short_names_resolve_in_the_working_directorys_notebooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tour = make_notebook(tmp_path / "notebooks" / "00_tour.ipynb")
    make_notebook(tmp_path / "notebooks" / "07_demo.ipynb")
    make_notebook(tmp_path / "notebooks" / "08_demo.ipynb")
    for name in ("00_tour", "tour", "TOUR", "00", "00_tour.ipynb", "notebooks/00_tour.ipynb"):
        assert resolve_notebook(name) == tour.resolve(), name
    with pytest.raises(NotebookNotFoundError, match=r"several notebooks.*07_demo, 08_demo"):
        resolve_notebook("demo")
    assert resolve_notebook("07").stem == "07_demo"
    with pytest.raises(NotebookNotFoundError, match=r"No notebook named 'nope'.*00_tour"):
        resolve_notebook("nope")
    with pytest.raises(NotebookNotFoundError, match="No notebook at"):
        resolve_notebook("missing/01_x.ipynb")


def test_the_repositorys_notebooks_resolve_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no notebooks/ here: the package's are found
    shipped = ROOT / "speechlab" / "notebooks"
    assert shipped_notebooks() == shipped
    assert resolve_notebook("evaluate") == shipped / "03_evaluate.ipynb"
    assert resolve_notebook("01_transcribe") == shipped / "01_transcribe.ipynb"
    assert (ROOT / "notebooks" / "03_evaluate.ipynb").resolve() == shipped / "03_evaluate.ipynb"


def test_a_zipped_install_says_to_install_unpacked(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "speechlab.zip", "w") as archive:
        archive.writestr("speechlab/notebooks/00_tour.ipynb", "{}")
    zipped = zipfile.Path(tmp_path / "speechlab.zip", "speechlab/")
    monkeypatch.setattr(resources, "files", lambda _package: zipped)
    with pytest.raises(NotebookRunError, match="install speechlab unpacked"):
        shipped_notebooks()


# ---------------------------------------------------------------------- checks before any kernel


def test_unknown_parameters_fail_before_anything_runs(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb", FIGURE_CELL)
    with pytest.raises(ParameterError, match=r"no parameter 'nn'.*n, name, out_dir"):
        run_notebook(notebook, {"nn": 3}, runs_dir=tmp_path / "runs")
    bare = make_notebook(tmp_path / "bare.ipynb", "print(1)", parameters=None)
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        run_notebook(bare, {"n": 3}, runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_runs_dir_that_is_a_file_is_refused(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb", "print(n)")
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(OutputError, match="is a file"):
        run_notebook(notebook, {}, runs_dir=tmp_path / "runs")


# ---------------------------------------------------------------------- real kernels


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny plotly notebook run once with parameters and an HTML report."""
    root = tmp_path_factory.mktemp("tiny-run")
    notebook = make_notebook(root / "tiny.ipynb", FIGURE_CELL)
    return run_notebook(notebook, {"n": 3, "name": "ą b"}, runs_dir=root / "runs")


@pytest.mark.slow
def test_run_folder_holds_notebook_record_report_and_outputs(tiny_run):
    run = tiny_run
    assert re.fullmatch(r"\d{8}-\d{6}-tiny", run.folder.name)
    assert sorted(p.name for p in run.folder.iterdir()) == [
        "outputs",
        "parameters.json",
        "report.html",
        "tiny.ipynb",
    ]
    assert run.notebook == run.folder / "tiny.ipynb" and run.report == run.folder / "report.html"
    # the parameters reached the kernel, out_dir pointed into the run folder
    executed = nbformat.read(run.notebook, as_version=4)
    printed = "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "n=3 name='ą b'" in printed
    assert (run.folder / "outputs" / "made.txt").read_text() == "6"
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    record = json.loads(run.record.read_text(encoding="utf-8"))
    assert record["status"] == "ok" and record["error"] is None
    assert record["parameters"] == {
        "n": 3,
        "name": "ą b",
        "out_dir": str((run.folder / "outputs").resolve()),
    }
    assert record["defaults"] == {"n": 1, "name": "x", "out_dir": None}
    assert record["kernel"] == "python3"
    assert 0 < record["duration_s"] == pytest.approx(run.seconds, abs=1e-3)
    versions = record["versions"]
    assert versions["speechlab"] and versions["papermill"] and versions["plotly"]
    assert record["started"] <= record["finished"]


@pytest.mark.slow
def test_report_embeds_the_figure_and_plotly_js_without_a_cdn(tiny_run):
    html = tiny_run.report.read_text(encoding="utf-8")
    assert plotly_outputs(tiny_run.notebook) == 1
    assert html.count('class="plotly-graph-div"') == 1
    assert INLINE_PLOTLY.search(html), "plotly.js is not inline"
    assert not CDN_PLOTLY.search(html)


@pytest.mark.slow
@pytest.mark.browser
def test_report_draws_the_figure_in_chromium_offline(tiny_run, tmp_path):
    """No network here: if the figure is drawn, it was drawn from the inline plotly.js."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require(chromium is not None, "no chromium on PATH")
    dom = subprocess.run(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=8000",
            "--dump-dom",
            tiny_run.report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert 'class="main-svg"' in dom  # plotly drew its SVG
    assert 'class="trace bars"' in dom


@pytest.mark.slow
def test_a_raising_cell_gives_a_typed_error_naming_it(tmp_path):
    notebook = make_notebook(tmp_path / "bad.ipynb", "print(n)", FAILING_CELL, "print('after')")
    with pytest.raises(NotebookCellError) as caught:
        run_notebook(notebook, {"n": 1}, runs_dir=tmp_path / "runs", html=False)
    error = caught.value
    assert isinstance(error, SpeechlabError)
    # markdown, parameters, print(n), the failing cell: index 3 in the source notebook
    assert error.cell_index == 3 and error.ename == "ZeroDivisionError"
    message = str(error)
    assert "bad.ipynb failed in cell 4 of 5" in message
    assert "x = 10 // (n - 1)" in message and "ZeroDivisionError" in message
    assert str(error.folder / "bad.ipynb") in message
    record = json.loads((error.folder / "parameters.json").read_text())
    assert record["status"] == "failed" and "cell 4" in record["error"]
    assert not (error.folder / "report.html").exists()  # html=False


@pytest.mark.slow
def test_a_missing_kernel_is_a_clear_error(tmp_path):
    notebook = make_notebook(tmp_path / "tiny.ipynb", "print(n)")
    with pytest.raises(NotebookRunError, match=r"No Jupyter kernel .*ipykernel install"):
        run_notebook(notebook, {}, runs_dir=tmp_path / "runs", kernel_name="no-such-kernel")
    (folder,) = (tmp_path / "runs").iterdir()
    assert json.loads((folder / "parameters.json").read_text())["status"] == "failed"


# ---------------------------------------------------------------------- readable parameters


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("Zażółć gęślą jaźń", '"Zażółć gęślą jaźń"'),
        ("„cytat”", '"„cytat”"'),
        ("it's", '"it\'s"'),
        ('say "hi"', "'say \"hi\"'"),
        ("line\nbreak\ttab", '"line\\nbreak\\ttab"'),
        ("", '""'),
    ],
)
def test_python_literal_keeps_letters_as_written(text, literal):
    import ast

    assert python_literal(text) == literal
    assert ast.literal_eval(literal) == text


@pytest.mark.slow
def test_injected_parameters_and_records_stay_readable(tmp_path):
    """Polish text as written in the injected cell, a date-like list item stays a string,
    and what the notebook records lands in metrics.json."""
    notebook = make_notebook(
        tmp_path / "polish.ipynb",
        "import speechlab\n"
        "print(type(days[0]).__name__, text)\n"
        "speechlab.record('cer', 0.25)\n"
        "speechlab.record('label', text[:6])",
        parameters='text = "x"\ndays = []\nmodel = "kokoro-82m-int8"\nout_dir = None',
    )
    given = parse_parameters([("text", "Zażółć gęślą jaźń"), ("days", "[2024-01-31]")])
    run = run_notebook(notebook, given, runs_dir=tmp_path / "runs", html=False)
    cells = nbformat.read(run.notebook, as_version=4).cells
    (injected,) = [c for c in cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'text = "Zażółć gęślą jaźń"' in injected.source
    assert 'days = ["2024-01-31"]' in injected.source
    assert "\\u" not in injected.source and "\\x" not in injected.source
    printed = "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)
    assert "str Zażółć gęślą jaźń" in printed
    record = json.loads(run.record.read_text(encoding="utf-8"))
    assert record["parameters"]["text"] == "Zażółć gęślą jaźń"
    assert record["defaults"]["model"] == "kokoro-82m-int8"  # not '"kokoro-82m-int8"'
    assert '"Zażółć' in run.record.read_text(encoding="utf-8")  # not \u escapes
    assert json.loads(run.metrics.read_text(encoding="utf-8")) == {"cer": 0.25, "label": "Zażółć"}
