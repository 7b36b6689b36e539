"""``speechlab run``: execute a notebook headless (papermill) into a run folder;
``speechlab notebooks list|copy``: the notebooks shipped with speechlab.

Registered on the main app in ``speechlab/cli/__init__.py`` with
``app.command("run", cls=RunCommand)(run_command)``: ``RunCommand`` lets ``-p`` take two
values (``-p NAME VALUE``, repeatable), as papermill's own CLI does, which typer cannot
declare. Without it ``-p NAME=VALUE`` still works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from speechlab.cli.support import console, friendly
from speechlab.notebook_runs import ParameterError

__all__ = ["RunCommand", "notebooks_app", "run_command"]

notebooks_app = typer.Typer(
    help="The notebooks that come with speechlab: list them, copy them to open in Jupyter.",
    no_args_is_help=True,
)

_PARAMETER_FLAGS = ("-p", "--parameter")
_JOIN = "\0"  # cannot occur in a command-line argument


class RunCommand(TyperCommand):
    """Joins each ``-p NAME VALUE`` into one token before parsing, so ``-p`` can repeat."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_parameter_pairs(args))


def join_parameter_pairs(args: list[str]) -> list[str]:
    """``[-p, n, 20]`` → ``[-p, "n<NUL>20"]``. Left alone: ``-p n=20`` (a name has no ``=``), a
    ``-p`` without two tokens after it, and everything after ``--``."""
    joined: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            return joined + args[i:]
        if token in _PARAMETER_FLAGS and i + 2 < len(args) and "=" not in args[i + 1]:
            joined += [token, args[i + 1] + _JOIN + args[i + 2]]
            i += 3
            continue
        joined.append(token)
        i += 1
    return joined


def split_pair(token: str) -> tuple[str, str]:
    """One ``-p`` value back into (name, value): joined by RunCommand, or ``NAME=VALUE``."""
    if _JOIN in token:
        name, _, value = token.partition(_JOIN)
        return name, value
    if "=" in token:
        name, _, value = token.partition("=")
        return name, value
    raise ParameterError(f"-p {token} has no value; write -p NAME VALUE (or -p NAME=VALUE).")


@friendly
def run_command(
    notebook: Annotated[
        str,
        typer.Argument(
            help="Notebook path or short name: 00_tour, tour, 03_evaluate, evaluate, 03."
        ),
    ],
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "-p",
            "--parameter",
            metavar="NAME VALUE",
            help="Set a notebook parameter (repeatable). Values read like papermill's: "
            "20 → int, 0.5 → float, true/false, none, \\[pl, cs] → list, else a string.",
        ),
    ] = None,
    html: Annotated[
        bool, typer.Option("--html/--no-html", help="Write report.html (plots inline).")
    ] = True,
    runs_dir: Annotated[
        Path, typer.Option(help="Folder that gets one <timestamp>-<name>/ per run.")
    ] = Path("runs"),
    kernel: Annotated[
        str | None, typer.Option(help="Jupyter kernel (default: the notebook's, python3).")
    ] = None,
) -> None:
    """Run a notebook headless (papermill) into runs/<timestamp>-<name>/.

    The folder keeps the executed notebook, parameters.json (parameters, versions, git
    commit, duration) and report.html (plots and plotly.js inline).
    """
    from speechlab.notebook_runs import parse_parameters, run_notebook

    parameters = parse_parameters([split_pair(token) for token in parameter or []])
    result = run_notebook(
        notebook, parameters, html=html, runs_dir=runs_dir, kernel_name=kernel, progress=True
    )
    console.print(
        f"{result.source.stem}: ran in {result.seconds:.1f} s\n"
        f"  folder     {result.folder}\n"
        f"  notebook   {result.notebook}\n"
        f"  parameters {result.record}"
        + (f"\n  metrics    {result.metrics}" if result.metrics.is_file() else "")
        + (f"\n  report     {result.report}" if result.report else ""),
        highlight=False,
        markup=False,
    )


@notebooks_app.command("list")
@friendly
def notebooks_list() -> None:
    """The notebooks `speechlab run NAME` finds (./notebooks first, then speechlab's)."""
    from speechlab.notebook_runs import list_notebooks

    for path in list_notebooks():
        console.print(f"{path.stem:<16} {path}", highlight=False, markup=False)


@notebooks_app.command("copy")
@friendly
def notebooks_copy(
    folder: Annotated[Path, typer.Argument(help="Where to put them (created if needed).")],
    force: Annotated[bool, typer.Option(help="Replace notebooks already there.")] = False,
) -> None:
    """Copy speechlab's notebooks (and their recipes) into FOLDER, to open in JupyterLab."""
    from speechlab.notebook_runs import copy_notebooks

    copied, kept = copy_notebooks(folder, force=force)
    for path in copied:
        console.print(f"copied {path}", highlight=False, markup=False)
    for path in kept:
        console.print(
            f"kept   {path} (already there; --force replaces it)", highlight=False, markup=False
        )
    console.print(f"Open them with: jupyter lab {folder}", highlight=False, markup=False)
