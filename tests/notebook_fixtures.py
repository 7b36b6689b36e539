"""Tiny notebooks for the speechlab.notebook_runs and `speechlab run` tests (no models)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

#: Parameters cell of the tiny notebooks.
PARAMETERS = 'n = 1\nname = "x"\nout_dir = None'

#: A cell that prints the parameters, writes into out_dir and shows one plotly figure.
FIGURE_CELL = """
from pathlib import Path
import plotly.graph_objects as go
import plotly.io as pio

pio.renderers.default = "plotly_mimetype+notebook"
print(f"n={n!r} name={name!r}")
if out_dir:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "made.txt").write_text(str(n * 2))
go.Figure(go.Bar(y=[n, 2, 3]))
"""

#: A cell that fails when n == 1 (ZeroDivisionError).
FAILING_CELL = "x = 10 // (n - 1)  # fails for n == 1\nprint(x)"

#: plotly.js inlined by plotly's "notebook" renderer (its licence banner opens the bundle),
#: the full bundle or the partial one that speechlab.report_html puts into reports.
INLINE_PLOTLY = re.compile(r"<script[^>]*>\s*/\*\*\s*\*\s*plotly\.js (\([a-z -]+\) )?v\d")
#: A <script src=...> that loads plotly.js from plotly's CDN.
CDN_PLOTLY = re.compile(r"<script[^>]*\bsrc=[\"'][^\"']*cdn\.plot\.ly", re.IGNORECASE)


def make_notebook(path: Path, *cells: str, parameters: str | None = PARAMETERS) -> Path:
    """A python3 notebook: a markdown title, a ``parameters`` cell, then ``cells``."""
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells.append(new_markdown_cell(f"# {path.stem}"))
    if parameters is not None:
        nb.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells += [new_code_cell(cell.strip()) for cell in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def plotly_outputs(notebook: Path) -> int:
    """How many plotly figures an executed notebook displays."""
    nb = nbformat.read(notebook, as_version=4)
    return sum(
        "application/vnd.plotly.v1+json" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
