"""The runs that ``speechlab run`` left in a runs folder, and how they differ.

```python
from speechlab.run_history import compare_runs, find_runs
runs = find_runs("runs", notebook="03_evaluate")
table = compare_runs(runs)
table.parameters   # {"n_sentences": [2, 6]}: only the parameters that differ
table.metrics      # {"cer": [0.071, 0.052]}: what each run recorded (speechlab.record)
```

A run is a folder holding ``parameters.json`` (written by
:func:`speechlab.notebook_runs.run_notebook`) and, when the notebook recorded numbers,
``metrics.json`` (:func:`speechlab.record`). :func:`comparison_svg` draws the recorded
numbers run by run as a small standalone SVG (no plotting package needed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from speechlab.errors import SpeechlabError
from speechlab.run_metrics import METRICS_FILE

__all__ = [
    "RunComparison",
    "RunHistoryError",
    "RunInfo",
    "compare_runs",
    "comparison_svg",
    "find_run",
    "find_runs",
    "read_run",
]

RECORD_FILE = "parameters.json"
#: Parameters that differ in every run by construction (the run's own output folder).
IGNORED_PARAMETERS = ("out_dir",)


class RunHistoryError(SpeechlabError, LookupError):
    """A run folder that cannot be found or read."""


@dataclass(frozen=True)
class RunInfo:
    """One run: its folder, notebook, status, effective parameters and recorded metrics."""

    folder: Path
    notebook: str
    started: str
    status: str
    duration_s: float | None
    parameters: dict[str, Any]  # the notebook's defaults updated with what was given
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.folder.name


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: the parameters that differ and every recorded metric."""

    runs: list[RunInfo]
    parameters: dict[str, list[Any]]  # name → one value per run (only those that differ)
    metrics: dict[str, list[Any]]  # name → one value per run (None: not recorded)

    def rows(self) -> list[tuple[str, str, list[Any]]]:
        """``(kind, name, values)`` rows: ``notebook`` when they differ, then parameters,
        then metrics."""
        rows: list[tuple[str, str, list[Any]]] = []
        notebooks = [run.notebook for run in self.runs]
        if len(set(notebooks)) > 1:
            rows.append(("run", "notebook", notebooks))
        rows += [("parameter", name, values) for name, values in self.parameters.items()]
        rows += [("metric", name, values) for name, values in self.metrics.items()]
        return rows


def read_run(folder: str | Path) -> RunInfo:
    """The run in ``folder`` (its ``parameters.json`` and ``metrics.json``)."""
    folder = Path(folder).expanduser()
    record_path = folder / RECORD_FILE
    if not record_path.is_file():
        raise RunHistoryError(
            f"{folder} has no {RECORD_FILE}, so it is not a `speechlab run` folder. "
            "Pass a folder that `speechlab runs list` shows."
        )
    record = _json(record_path)
    parameters = dict(record.get("defaults") or {})
    parameters.update(record.get("parameters") or {})
    metrics_path = folder / METRICS_FILE
    return RunInfo(
        folder=folder,
        notebook=Path(str(record.get("notebook", "?"))).stem,
        started=str(record.get("started", "")),
        status=str(record.get("status", "?")),
        duration_s=record.get("duration_s"),
        parameters=parameters,
        metrics=_json(metrics_path) if metrics_path.is_file() else {},
    )


def find_runs(runs_dir: str | Path = "runs", *, notebook: str | None = None) -> list[RunInfo]:
    """Every run under ``runs_dir``, oldest first; ``notebook`` keeps one notebook's runs
    (``03_evaluate``, or its short name ``evaluate``/``03``)."""
    runs_dir = Path(runs_dir).expanduser()
    if not runs_dir.is_dir():
        raise RunHistoryError(
            f"No runs folder at {runs_dir}. Run a notebook first (speechlab run 00_tour) "
            "or pass --runs-dir."
        )
    runs = [read_run(p) for p in sorted(runs_dir.iterdir()) if (p / RECORD_FILE).is_file()]
    if notebook is not None:
        runs = [run for run in runs if _is_notebook(run.notebook, notebook)]
    return sorted(runs, key=lambda run: (run.started, run.name))


def find_run(spec: str | Path, runs_dir: str | Path = "runs") -> RunInfo:
    """A run by folder path, by folder name in ``runs_dir``, or by a part of its name that
    only one run has (``121738`` or ``03_evaluate`` when there is one such run)."""
    path = Path(spec).expanduser()
    if (path / RECORD_FILE).is_file():
        return read_run(path)
    candidates = [run for run in find_runs(runs_dir) if str(spec) in run.name]
    exact = [run for run in candidates if run.name == str(spec)]
    if exact:
        return exact[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise RunHistoryError(
            f"No run {str(spec)!r} in {runs_dir}. `speechlab runs list` shows the runs there."
        )
    names = ", ".join(run.name for run in candidates[:6]) + (" …" if len(candidates) > 6 else "")
    raise RunHistoryError(
        f"{str(spec)!r} matches {len(candidates)} runs ({names}); give more of the folder name."
    )


def compare_runs(runs: list[RunInfo]) -> RunComparison:
    """The parameters whose values differ between ``runs`` and every metric any of them
    recorded (``None`` where a run did not record it)."""
    if not runs:
        raise RunHistoryError("No runs to compare; name two or more (speechlab runs list).")
    names = _ordered(name for run in runs for name in run.parameters)
    differing = {}
    for name in names:
        if name in IGNORED_PARAMETERS:
            continue
        values = [run.parameters.get(name) for run in runs]
        if any(_key(value) != _key(values[0]) for value in values):
            differing[name] = values
    metrics = {
        name: [run.metrics.get(name) for run in runs]
        for name in _ordered(name for run in runs for name in run.metrics)
    }
    return RunComparison(runs=list(runs), parameters=differing, metrics=metrics)


def comparison_svg(comparison: RunComparison, path: str | Path) -> Path:
    """One small line chart per numeric metric, the runs in order along x; written to
    ``path`` as a standalone SVG (opens in any browser)."""
    numeric = {
        name: values
        for name, values in comparison.metrics.items()
        if any(_is_number(v) for v in values)
    }
    if not numeric:
        raise RunHistoryError(
            "None of these runs recorded a number to plot; record some with "
            "speechlab.record('cer', value) in the notebook."
        )
    width, height, pad = 420, 150, 36
    parts = []
    for row, (name, values) in enumerate(numeric.items()):
        parts.append(_chart(name, values, row * (height + 10), width, height, pad))
    total = len(numeric) * (height + 10)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
        f'viewBox="0 0 {width} {total}" font-family="sans-serif" font-size="11">\n'
        f'<rect width="{width}" height="{total}" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n"
    )
    path = Path(path).expanduser()
    path.write_text(svg, encoding="utf-8")
    return path


def _chart(name: str, values: list[Any], top: int, width: int, height: int, pad: int) -> str:
    points = [(i, float(v)) for i, v in enumerate(values) if _is_number(v)]
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or abs(high) or 1.0
    n = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * i / n

    def y(v: float) -> float:
        return top + height - pad - (height - 2 * pad) * (v - low) / span

    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
    dots = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#1f77b4">'
        f"<title>run {i + 1}: {v:.4g}</title></circle>"
        for i, v in points
    )
    axis_y = top + height - pad
    return (
        f'<text x="{pad}" y="{top + 16}" font-weight="bold">{escape(name)}</text>'
        f'<text x="4" y="{y(high) + 4:.1f}">{high:.3g}</text>'
        f'<text x="4" y="{y(low) + 4:.1f}">{low:.3g}</text>'
        f'<line x1="{pad}" y1="{axis_y}" x2="{width - pad}" y2="{axis_y}" stroke="#999"/>'
        f'<text x="{pad}" y="{axis_y + 14}">run 1</text>'
        f'<text x="{width - pad}" y="{axis_y + 14}" text-anchor="end">run {len(values)}</text>'
        f'<polyline points="{line}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>{dots}'
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_notebook(stem: str, wanted: str) -> bool:
    wanted = wanted.lower().removesuffix(".ipynb")
    number, _, rest = stem.lower().partition("_")
    return wanted in {stem.lower(), number, rest}


def _ordered(names: Any) -> list[str]:
    return list(dict.fromkeys(names))


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunHistoryError(f"{path} could not be read ({exc}); fix or delete it.") from exc
    if not isinstance(value, dict):
        raise RunHistoryError(f"{path} holds no JSON object; fix or delete it.")
    return value
