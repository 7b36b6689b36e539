"""The ``speechlab`` command line (typer + rich), assembled from one module per group.

========================  ==========================================
module                    commands
========================  ==========================================
:mod:`.models`            ``models list|fetch|verify|path``
:mod:`.transcribe`        ``transcribe``
:mod:`.listen`            ``listen`` (live recognition)
:mod:`.speak`             ``say``, ``voices``
:mod:`.evaluation`        ``eval``, ``roundtrip``
:mod:`.finetune`          ``finetune``
:mod:`.notebooks`         ``run``, ``notebooks list|copy``
:mod:`.runs`              ``runs list|compare`` (runs side by side)
:mod:`.export`            ``export tts|asr``
:mod:`.quantize`          ``quantize``
:mod:`.lm`                ``lm build`` (n-gram LMs for beam search)
:mod:`.info`              ``info``, ``selfcheck``
:mod:`.support`           the consoles and the error wrapper they share
========================  ==========================================

A new command: a function in the module of its group (or a new module), registered
below. ``python -m speechlab`` runs this app too (``speechlab/__main__.py``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from speechlab import __version__
from speechlab.cli.evaluation import eval_command, roundtrip_command
from speechlab.cli.export import export_app
from speechlab.cli.finetune import finetune_command
from speechlab.cli.info import info_command, selfcheck_command
from speechlab.cli.listen import listen_command
from speechlab.cli.lm import lm_app
from speechlab.cli.models import models_app
from speechlab.cli.notebooks import RunCommand, notebooks_app, run_command
from speechlab.cli.quantize import quantize_command
from speechlab.cli.runs import runs_app
from speechlab.cli.speak import say, voices
from speechlab.cli.support import console
from speechlab.cli.transcribe import transcribe_command

__all__ = ["app", "main"]

app = typer.Typer(
    name="speechlab",
    help="Polish speech research toolkit: ASR, TTS, evaluation and the offline model store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(models_app, name="models")
app.command("eval")(eval_command)
app.command("roundtrip")(roundtrip_command)
app.command("run", cls=RunCommand)(run_command)
app.add_typer(runs_app, name="runs")
app.add_typer(notebooks_app, name="notebooks")
app.command("finetune")(finetune_command)
app.add_typer(export_app, name="export")
app.command("quantize")(quantize_command)
app.add_typer(lm_app, name="lm")
app.command("info")(info_command)
app.command("transcribe")(transcribe_command)
app.command("listen")(listen_command)
app.command("say")(say)
app.command("voices")(voices)
app.command("selfcheck")(selfcheck_command)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"speechlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True)
    ] = False,
) -> None:
    """speechlab: Polish speech in Jupyter and on the command line."""


def main() -> None:
    """Console-script entry point."""
    app()
