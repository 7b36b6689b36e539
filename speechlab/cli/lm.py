"""``speechlab lm build``: a word n-gram language model folder for CTC beam search."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from speechlab.cli.support import console, friendly

__all__ = ["lm_app"]

lm_app = typer.Typer(help="Word n-gram language models for CTC beam search.", no_args_is_help=True)


@lm_app.command("build")
@friendly
def build_command(
    text: Annotated[Path, typer.Argument(help="A UTF-8 text file, one sentence per line.")],
    out: Annotated[Path, typer.Argument(help="The language-model folder to write.")],
    order: Annotated[int, typer.Option(help="n-gram order (1-6).")] = 3,
    alpha: Annotated[float, typer.Option(help="LM weight stored in attrs.json.")] = 0.5,
    beta: Annotated[float, typer.Option(help="Word insertion bonus stored in attrs.json.")] = 1.0,
    encoding: Annotated[str, typer.Option(help="The text file's encoding.")] = "utf-8",
) -> None:
    """Estimate a Kneser-Ney n-gram model from TEXT and write OUT (lm.arpa, unigrams.txt,
    attrs.json); decode with it: speechlab.load_asr(model, lm=OUT)."""
    from speechlab.asr.lm_builder import build_lm, read_text_lines

    built = build_lm(read_text_lines(text, encoding), out, order=order, alpha=alpha, beta=beta)
    console.print(built.describe(), highlight=False, markup=False)
