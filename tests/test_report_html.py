"""speechlab.report_html: reports show the widgets' static HTML (no CDN widget manager) and
carry audio as Ogg/Opus; no kernel needed."""

from __future__ import annotations

import base64
import io
import re

import nbformat
import numpy as np
import pytest
import soundfile as sf
from IPython.display import Audio as IPythonAudio
from nbformat.v4 import new_code_cell, new_notebook, new_output

from speechlab.notebook_runs import export_html
from speechlab.report_html import (
    WIDGET_VIEW_MIME,
    compact_audio,
    lighter_plotly,
    static_widget_outputs,
)

STATE_MIME = "application/vnd.jupyter.widget-state+json"


def _buzz(seconds: float = 2.0, rate: int = 24_000) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (0.1 * sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 10))).astype(np.float32)


def _widget_output(model_id: str, html: str | None) -> dict:
    data = {"text/plain": "Widget()", WIDGET_VIEW_MIME: {"model_id": model_id}}
    if html is not None:
        data["text/html"] = html
    return new_output("display_data", data=data)


def _notebook(*outputs: dict, state: bool = True) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells.append(new_code_cell("show()", outputs=list(outputs), execution_count=1))
    if state:
        models = {o["data"][WIDGET_VIEW_MIME]["model_id"]: {} for o in outputs}
        nb.metadata["widgets"] = {STATE_MIME: {"state": models, "version_major": 2}}
    return nb


def test_widget_views_with_static_html_give_way_and_the_state_goes():
    nb = _notebook(_widget_output("a", "<b>static a</b>"), _widget_output("b", "<b>b</b>"))
    assert static_widget_outputs(nb) == 2
    assert all(WIDGET_VIEW_MIME not in o["data"] for o in nb.cells[0].outputs)
    assert "widgets" not in nb.metadata


def test_a_widget_without_static_html_keeps_its_view_and_the_state():
    nb = _notebook(_widget_output("a", "<b>static</b>"), _widget_output("plain", None))
    assert static_widget_outputs(nb) == 1
    assert WIDGET_VIEW_MIME in nb.cells[0].outputs[1]["data"]
    assert "widgets" in nb.metadata


def test_inline_wav_players_become_opus():
    samples = _buzz()
    page = IPythonAudio(samples, rate=24_000)._repr_html_()
    nb = _notebook(new_output("display_data", data={"text/html": page}), state=False)
    assert compact_audio(nb) == 1
    small = nb.cells[0].outputs[0]["data"]["text/html"]
    assert "audio/wav" not in small and 'type="audio/ogg"' in small
    (ogg,) = re.findall(r"data:audio/ogg;base64,([A-Za-z0-9+/=]+)", small)
    clip, rate = sf.read(io.BytesIO(base64.b64decode(ogg)))
    assert rate == 24_000 and len(clip) == pytest.approx(samples.size, abs=0.02 * 24_000)
    # measured: 128 kB of base64 WAV for these 2 s became 13 kB (ratio 0.10)
    assert len(small) < 0.2 * len(page), (len(small), len(page))


def test_undecodable_wav_is_left_alone(caplog):
    page = '<audio><source src="data:audio/wav;base64,AAAA" type="audio/wav"></audio>'
    nb = _notebook(new_output("display_data", data={"text/html": page}), state=False)
    assert compact_audio(nb) == 0
    assert nb.cells[0].outputs[0]["data"]["text/html"] == page
    assert "stays as it is" in caplog.text


def test_export_html_shows_the_static_html_and_loads_no_widget_manager(tmp_path):
    nb = _notebook(_widget_output("a", '<div class="speechlab-static">static view</div>'))
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, path)
    html = export_html(path, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "static view" in html
    assert "html-manager" not in html and STATE_MIME not in html
    assert nbformat.read(path, as_version=4).metadata["widgets"]  # the notebook is untouched


def _plotly_notebook(*traces: str, version: str = "4.1.1", layout: dict | None = None):
    full = (
        f'<script type="text/javascript">/**\n* plotly.js v{version}\n*/ FULL-PLOTLY-BODY </script>'
    )
    figures = [
        new_output(
            "execute_result",
            data={
                "application/vnd.plotly.v1+json": {
                    "data": [{"type": kind} for kind in traces],
                    "layout": layout or {},
                },
                "text/html": f"{full if i == 0 else ''}<div>figure {i}</div>",
            },
            execution_count=1,
        )
        for i in range(2)
    ]
    return _notebook(*figures, state=False)


@pytest.mark.parametrize(
    ("traces", "bundle"),
    [(("bar", "scatter"), "basic"), (("scatter", "heatmap"), "cartesian"), (("scatter3d",), None)],
)
def test_plotly_js_becomes_the_smallest_bundle_that_draws_the_figures(traces, bundle):
    nb = _plotly_notebook(*traces)
    assert lighter_plotly(nb) == bundle
    page = nb.cells[0].outputs[0]["data"]["text/html"]
    if bundle is None:
        assert "FULL-PLOTLY-BODY" in page
    else:
        assert f"plotly.js ({bundle} - minified) v4.1.1" in page and "FULL-PLOTLY-BODY" not in page
        assert page.endswith("</script><div>figure 0</div>")
        assert len(page) < 1_600_000  # the full plotly.js 4.1.1 is 4.8 MB
    assert nb.cells[0].outputs[1]["data"]["text/html"] == "<div>figure 1</div>"


def test_other_plotly_versions_and_map_layouts_keep_the_full_bundle():
    assert lighter_plotly(_plotly_notebook("bar", version="9.9.9")) is None
    assert lighter_plotly(_plotly_notebook("scatter", layout={"polar2": {}})) is None


def test_the_shipped_bundles_match_plotly_py(tmp_path):
    """plotly.py's inline plotly.js has the version of speechlab's partial bundles: reports
    stay small (when plotly is upgraded, add its bundles: speechlab/data/plotly/README.md)."""
    from plotly.offline import get_plotlyjs_version

    version = get_plotlyjs_version()
    assert lighter_plotly(_plotly_notebook("bar", version=version)) == "basic"
