"""``speechlab info`` and ``speechlab selfcheck``: what is installed, and does it work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from speechlab import __version__
from speechlab.cli.support import console, err_console

__all__ = ["info_command", "selfcheck_command"]


def info_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Versions, threads, devices and the cache directory."""
    from speechlab.environment import collect_info

    data = collect_info()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    for section, values in data.items():
        table = Table(title=section, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for key, value in values.items():
            table.add_row(key, value)
        console.print(table)


def selfcheck_command(
    out: Annotated[
        Path | None, typer.Option(help="Folder for selfcheck.wav (the synthesised sentence).")
    ] = None,
) -> None:
    """Assemble the offline models, speak Polish with Kokoro, transcribe it with Whisper."""
    from speechlab.selfcheck import SELF_CHECK_TEXT, CheckResult, passed, run_self_check

    console.print(f"speechlab {__version__} self-check: {SELF_CHECK_TEXT!r}", markup=False)

    def show(step: CheckResult) -> None:
        mark = "[green]ok[/]  " if step.ok else "[red]FAIL[/]"
        line = f"{step.name:<28} {step.seconds:6.2f} s  {step.detail}"
        console.print(f"{mark} {escape(line)}", highlight=False)

    results = run_self_check(out, on_step=show)
    if not passed(results):
        err_console.print("[bold red]self-check failed[/]")
        raise typer.Exit(1)
    console.print("[bold green]self-check passed[/]")
