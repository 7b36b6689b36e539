"""``speechlab runs list|compare``: the notebook runs in a runs folder, side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from speechlab.cli.support import console, err_console, friendly

__all__ = ["runs_app"]

runs_app = typer.Typer(
    help="List and compare notebook runs (speechlab run) and what they recorded.",
    no_args_is_help=True,
)
#: From this many runs on, `runs compare` also draws the metrics (an SVG file).
PLOT_FROM = 3

RunsDir = Annotated[Path, typer.Option(help="The runs folder (speechlab run --runs-dir).")]


@runs_app.command("list")
@friendly
def runs_list(
    notebook: Annotated[
        str | None, typer.Option(help="Only this notebook's runs (03_evaluate, evaluate, 03).")
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every run, oldest first: notebook, start, status, duration and recorded metrics."""
    from speechlab.run_history import find_runs

    runs = find_runs(runs_dir, notebook=notebook)
    if as_json:
        rows = [
            {
                "run": run.name,
                "folder": str(run.folder),
                "notebook": run.notebook,
                "started": run.started,
                "status": run.status,
                "duration_s": run.duration_s,
                "metrics": run.metrics,
            }
            for run in runs
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"runs in {runs_dir}", title_justify="left")
    for column in ("run", "notebook", "status", "seconds", "recorded"):
        table.add_column(
            column, justify="right" if column == "seconds" else "left", no_wrap=column == "run"
        )
    for run in runs:
        seconds = f"{run.duration_s:.1f}" if isinstance(run.duration_s, int | float) else "–"
        status = run.status if run.status == "ok" else f"[red]{run.status}[/]"
        recorded = ", ".join(f"{k}={_cell(v)}" for k, v in list(run.metrics.items())[:4])
        more = len(run.metrics) - 4
        table.add_row(
            run.name, run.notebook, status, seconds, recorded + (f" (+{more})" if more > 0 else "")
        )
    console.print(table)
    if not runs:
        console.print("No runs yet: speechlab run 00_tour", highlight=False, markup=False)


@runs_app.command("compare")
@friendly
def runs_compare(
    runs: Annotated[
        list[str] | None,
        typer.Argument(help="Runs: folder names from `runs list`, a unique part of one, or paths."),
    ] = None,
    notebook: Annotated[
        str | None, typer.Option(help="Compare every run of this notebook (instead of RUNS).")
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    plot: Annotated[
        Path | None,
        typer.Option(
            help=f"SVG of the metrics run by run (default with {PLOT_FROM}+ runs: "
            "<runs-dir>/comparison.svg)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The parameters that differ and the recorded metrics, one column per run."""
    from speechlab.run_history import (
        RunHistoryError,
        compare_runs,
        comparison_svg,
        find_run,
        find_runs,
    )

    if notebook is not None:
        chosen = find_runs(runs_dir, notebook=notebook)
    else:
        chosen = [find_run(spec, runs_dir) for spec in runs or []]
    if len(chosen) < 2:
        raise RunHistoryError(
            f"Comparing needs two runs or more, got {len(chosen)}: "
            "speechlab runs compare RUN RUN… (or --notebook NAME); `speechlab runs list` "
            "shows them."
        )
    comparison = compare_runs(chosen)
    if as_json:
        payload = {
            "runs": [run.name for run in comparison.runs],
            "parameters": comparison.parameters,
            "metrics": comparison.metrics,
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    else:
        table = Table(title="runs side by side", title_justify="left")
        table.add_column("")
        for i, run in enumerate(comparison.runs, 1):
            table.add_column(f"{i}: {run.name}", justify="right", overflow="fold")
        for kind, name, values in comparison.rows():
            label = f"[bold]{name}[/]" if kind == "metric" else name
            table.add_row(label, *(_cell(v) for v in values))
        console.print(table)
        if not comparison.parameters:
            console.print("Same parameters in every run.", highlight=False)
        if not comparison.metrics:
            console.print(
                "No run recorded metrics: add speechlab.record('cer', value) to the notebook.",
                highlight=False,
                markup=False,
            )
    if plot is None and len(chosen) >= PLOT_FROM and comparison.metrics:
        plot = runs_dir / "comparison.svg"
    if plot is not None:
        written = comparison_svg(comparison, plot)
        # with --json, stdout holds only the JSON
        (err_console if as_json else console).print(f"plot: {written}", highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
