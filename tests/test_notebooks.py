"""The notebooks in speechlab/notebooks/ (notebooks/ links there): stored clean,
parameterised, thin, and run offline by papermill."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import papermill
import pytest
from notebook_fixtures import CDN_PLOTLY, INLINE_PLOTLY, make_notebook, plotly_outputs

from speechlab.notebook_runs import run_notebook

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "speechlab" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
#: This issue's workflow notebooks and the plotly figures each must show (00_tour is the
#: widgets tour: run here too, its figures are widgets).
WORKFLOWS = {"01_transcribe": 1, "02_speak": 2, "03_evaluate": 3, "04_finetune": 2, "05_adapt": 1}
WORKFLOWS["06_live"] = 2  # the word timeline and the latency histogram
WORKFLOWS["07_quantize"] = 2  # the variants measured here, and the committed benchmark
#: Key numbers each notebook records with speechlab.record (metrics.json, `speechlab runs`).
RECORDED = {
    "00_tour": {"wer", "cer", "speech_seconds"},
    "01_transcribe": {"wer", "cer", "inputs", "audio_seconds"},
    "02_speak": {"first_audio_s", "stream_rtfx"},
    "03_evaluate": {"wer", "cer", "cer_ci_width", "utterances", "cer_pl", "roundtrip_cer_jm_kumo"},
    "04_finetune": {"cer_heldout", "cer_heldout-voice", "wer_heldout"},
    "05_adapt": {"domain_cer_none", "domain_cer_head", "general_cer_encoder"},
    "06_live": {"partials", "finals", "latency_p50_ms", "latency_p95_ms"},
    "07_quantize": {"fp32_cer", "onnx-int8-dynamic_cer", "onnx-int8-dynamic_throughput"},
}
#: Demo output left in the run folder, MB (measured 2026-11-28: 22.3 and 64.3 MB, from 107 and
#: 170 MB before the checkpoints and best/ copies were dropped; 05 keeps three 21 MB models).
DEMO_OUTPUT_MB = {"04_finetune": 30, "05_adapt": 75}
RENDERER = 'pio.renderers.default = "plotly_mimetype+notebook"'


def output_problems(path: Path) -> list[str]:
    """What nbstripout would remove: outputs, execution counts, saved widget state."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for i, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"{path.name} cell {i}: {len(cell['outputs'])} outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"{path.name} cell {i}: execution_count {cell['execution_count']}")
    if "widgets" in notebook.get("metadata", {}):
        problems.append(f"{path.name}: saved widget state in metadata.widgets")
    return problems


def test_the_workflow_notebooks_exist():
    assert set(WORKFLOWS) <= {p.stem for p in NOTEBOOKS}


def test_notebooks_have_no_outputs():
    problems = [problem for path in NOTEBOOKS for problem in output_problems(path)]
    assert not problems, (
        "Commit notebooks without outputs: `pre-commit install` (nbstripout) or "
        f"`nbstripout notebooks/*.ipynb`. Found: {problems}"
    )


def test_the_output_check_catches_an_executed_notebook(tmp_path):
    path = make_notebook(tmp_path / "done.ipynb", "print(1)")
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[-1].execution_count = 1
    nbformat.write(nb, path)
    assert output_problems(path) == [
        "done.ipynb cell 2: 1 outputs",
        "done.ipynb cell 2: execution_count 1",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_tagged_parameters_and_the_kernel_is_python3(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert papermill.inspect_notebook(str(path))  # papermill can read the defaults


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_workflow_notebooks_are_thin_and_render_plotly_offline(name):
    """They call the API and plot: no functions or classes of their own."""
    nb = nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    definitions = [
        node.name
        for source in code
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert not definitions
    assert any(RENDERER in source for source in code)
    assert "out_dir" in papermill.inspect_notebook(str(FOLDER / f"{name}.ipynb"))


@pytest.mark.realweights
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_offline_with_its_defaults(path, real_store, tmp_path):
    run = run_notebook(path, {}, runs_dir=tmp_path / "runs")
    executed = nbformat.read(run.notebook, as_version=4)
    errors = [
        f"{output.ename}: {output.evalue}"
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
    assert json.loads(run.record.read_text())["status"] == "ok"
    recorded = json.loads(run.metrics.read_text(encoding="utf-8"))
    assert RECORDED.get(path.stem, set()) <= set(recorded), recorded
    if path.stem in DEMO_OUTPUT_MB:  # small demo output, in the run folder
        outputs = run.folder / "outputs"
        assert not [p for p in outputs.rglob("checkpoints") if p.is_dir()]
        size = sum(p.stat().st_size for p in outputs.rglob("*") if p.is_file()) / 1e6
        assert 0 < size < DEMO_OUTPUT_MB[path.stem], size
    html = run.report.read_text(encoding="utf-8")
    figures = plotly_outputs(run.notebook)
    assert figures >= WORKFLOWS.get(path.stem, 0)
    assert html.count('class="plotly-graph-div"') == figures  # every figure is in the report
    if figures:
        assert INLINE_PLOTLY.search(html), "plotly.js is not inline in report.html"
    assert not CDN_PLOTLY.search(html)
